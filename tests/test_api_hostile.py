"""The API given arguments that cannot be right, through public names only: each is refused with a
ValueError (or a bptrace error) saying what and why, never a TypeError or AttributeError from
inside bptrace, and never a file descriptor read and closed in place of a path."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import ROOT

import bptrace

SIMPLE = str(ROOT / "networks" / "simple.bp")
LINE = (
    "input x = 1\ntarget y = 2\nparam w = 0.5\nparam b = 0\ng = w*x + b\nloss L = 1/2*(y - g)^2\n"
)


@pytest.fixture(scope="module")
def net() -> bptrace.Network:
    return bptrace.load(SIMPLE)


@pytest.mark.parametrize("path", [True, 1.5, None, ["a.bp"]])
def test_load_refuses_what_is_not_a_path(path):
    with pytest.raises(ValueError, match="path"):
        bptrace.load(path)


def test_an_int_is_not_read_as_a_file_descriptor_and_closed(tmp_path):
    # open(3) reads descriptor 3 and closes it: load(1) closed the caller's stdout
    (tmp_path / "a.bp").write_text("param w = 1\nloss L = w^2\n")
    fd = os.open(tmp_path / "a.bp", os.O_RDONLY)
    try:
        for call in (bptrace.load, bptrace.parse(LINE).with_data):
            with pytest.raises(ValueError, match="path"):
                call(fd)
        os.fstat(fd)  # still open
    finally:
        os.close(fd)
    with pytest.raises(ValueError, match="path"):
        bptrace.grade(["w.md"], key=fd)


@pytest.mark.parametrize("path", ["", b"", "a\0b.bp"])
def test_an_empty_path_or_one_with_nul_says_so(path):
    with pytest.raises(ValueError, match="empty|NUL"):
        bptrace.load(path)


def test_a_bytes_path_is_read_and_named_as_text(tmp_path):
    (tmp_path / "a.bp").write_text("param w = 3\nloss L = w^2\n")
    assert bptrace.load(os.fsencode(tmp_path / "a.bp")).params == {"w": 3.0}
    with pytest.raises(bptrace.FileError, match=r"/\\xff\.bp: no such file"):
        bptrace.load(os.fsencode(tmp_path) + b"/\xff.bp")


@pytest.mark.parametrize("text", [None, b"param w = 1\nloss L = w^2\n", 3])
def test_parse_refuses_what_is_not_text(text):
    with pytest.raises(ValueError, match="text"):
        bptrace.parse(text)


@pytest.mark.parametrize("name", [None, b"a.bp", 1])
def test_parse_refuses_a_name_that_is_not_a_str(name):
    # it was kept, and str() of the network's first error then raised AttributeError
    with pytest.raises(ValueError, match="name"):
        bptrace.parse("loss L = ", name)


@pytest.mark.parametrize(
    "lr", ["0.1", "", 1j, 10**400, True, float("nan"), float("inf"), -1, np.float64("nan")]
)
def test_lr_that_is_not_a_finite_number_is_refused_everywhere(net, lr):
    calls = (
        lambda: net.steps(1, lr),
        lambda: net.run(1, lr),
        lambda: net.check(1, lr),
        lambda: net.draw(step=1, lr=lr),
        lambda: net.handout(lr=lr),
        lambda: net.compare({"batch": 0}, lr=lr),
        lambda: net.mistakes(lr=lr),
        lambda: net.nudge("w1", lr=lr),
    )
    for call in calls:
        with pytest.raises(ValueError, match="lr must be a finite number"):
            call()


def test_numpy_numbers_are_numbers(net):
    # one step on simple.bp: L = ½(1 − (−0.13))² = 0.63845 whatever lr is
    assert net.run(1, lr=np.float64(0.5)).losses == pytest.approx([0.5 * 1.13**2])
    assert net.run(1, lr=np.int64(1)).losses == pytest.approx([0.5 * 1.13**2])


@pytest.mark.parametrize("shuffle", ["no", 1, None, [], "False"])
def test_shuffle_is_true_or_false(shuffle):
    # "no" is truthy: it shuffled
    line = bptrace.parse(LINE).with_data({"x": [1, 2], "y": [2, 4]})
    with pytest.raises(ValueError, match="shuffle must be True or False"):
        line.steps(1, shuffle=shuffle)
    assert len(line.run(1, shuffle=np.bool_(False))) == 1


@pytest.mark.parametrize(
    "data, said",
    [
        (None, "data is a CSV file's path or a mapping"),
        ([1, 2], "data is a CSV file's path or a mapping"),
        ({"x": [None], "y": [1]}, r"data\['x'\] must be a list of numbers; it holds None"),
        ({"x": 5, "y": 1}, r"data\['x'\] must be a list of numbers; got 5"),
        ({"x": "12", "y": "34"}, r"data\['x'\] must be a list of numbers; got '12'"),
        ({"x": [1j], "y": [1]}, r"data\['x'\] must be a list of numbers; it holds 1j"),
        ({"x": [True], "y": [1]}, r"data\['x'\] must be a list of numbers; it holds True"),
        # as a CSV file's nan or inf: it was run, and step 1 stopped "the value is not finite"
        ({"x": [1, float("nan")], "y": [1, 2]}, r"data\['x'\] holds nan, which is not a finite"),
        ({"x": [1], "y": [-np.inf]}, r"data\['y'\] holds -inf, which is not a finite"),
    ],
)
def test_with_data_refuses_columns_that_are_not_numbers(data, said):
    with pytest.raises(ValueError, match=said):
        bptrace.parse(LINE).with_data(data)


def test_with_data_takes_numpy_columns_and_generators():
    # two samples, w = 0.5, b = 0: g = 0.5, 1; L = mean of ½(2 − 0.5)², ½(4 − 1)² = (1.125 + 4.5)/2
    line = bptrace.parse(LINE)
    by_numpy = line.with_data({"x": np.array([1, 2]), "y": np.arange(2, 5, 2)})
    by_generator = line.with_data({"x": (v for v in (1, 2)), "y": iter([2.0, 4.0])})
    for changed in (by_numpy, by_generator):
        assert changed.run(1).losses == pytest.approx([(1.125 + 4.5) / 2])


@pytest.mark.parametrize("student", ["\ud800", "a\nb", "\0", " ", "a b", "x" * 65])
def test_a_variant_id_is_one_run_variant_takes(net, student):
    # the API drew numbers for IDs `bptrace run --variant` refuses, so no worksheet could match
    with pytest.raises(ValueError, match="a variant ID is 1 to 64 letters, digits"):
        net.variant(student)
    assert net.variant("ana-lopez.2@x+y").params != net.params


@pytest.mark.parametrize("settings", [None, [("lr", 0.2)], "lr=0.2"])
def test_compare_refuses_settings_that_are_not_a_mapping(net, settings):
    with pytest.raises(ValueError, match="settings is a mapping"):
        net.compare(settings)


def test_one_name_is_one_name_not_its_letters(net):
    assert net.explain("w1") == net.explain(["w1"])  # it said "'w' is not a param"
    assert net.handout(blank="forward") == net.handout(blank=["forward"])  # "no table 'f'"
    for call in (lambda: net.explain(None), lambda: net.handout(blank=None)):
        with pytest.raises(ValueError, match="is a list of names; got None"):
            call()


def test_handout_takes_blank_tables_from_an_iterator(net):
    once = net.handout(blank=iter(["forward"]))
    assert once == net.handout(blank=["forward"]) != net.handout()


def test_mistakes_and_nudge_refuse_what_is_not_a_name_or_number(net):
    with pytest.raises(ValueError, match="no mistake"):
        net.mistakes(mistake=["sigmoid-missing"])
    with pytest.raises(ValueError, match="by must be a finite number"):
        net.nudge("w1", by=True)
    with pytest.raises(ValueError, match="ascii_math must be True or False"):
        net.draw(ascii_math="no")


@pytest.mark.parametrize(
    "worksheets, said",
    [
        (None, "worksheets is a list of paths; got None"),
        ([None], "a worksheet is named by its path"),
    ],
)
def test_grade_refuses_worksheets_that_are_not_paths(worksheets, said):
    # one path was read as a list of one-letter worksheets, each "no such file"
    with pytest.raises(ValueError, match=said):
        bptrace.grade(worksheets, network=SIMPLE)


def test_grade_takes_one_path_as_one_worksheet_not_as_its_letters(tmp_path):
    doc = bptrace.grade(str(tmp_path / "w.md"), network=SIMPLE)
    assert [f["file"] for f in doc["failed"]] == [str(tmp_path / "w.md")]


def test_grade_refuses_a_network_that_is_neither_a_network_nor_a_path():
    with pytest.raises(ValueError, match="network is a Network or a .bp file's path"):
        bptrace.grade([], network=[SIMPLE])
