"""networks/mnist_like.bp, a 64-16-10 softmax classifier, on generated 8×8 digits.

The independent check of layers on a real-sized network: the same forward and backward written
by hand with numpy's matrices (benchmarks/layers.py) gives bptrace's losses and gradients.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.tracer import Batches, Final, Step, trace

sys.path.append(str(ROOT / "benchmarks"))  # last: bptrace's modules and the tests' come first
from digits import csv_text, digits, glyphs  # noqa: E402
from layers import SHAPES, arrays, batches, build, numpy_loss, numpy_step, numpy_steps  # noqa: E402

NETWORK = ROOT / "networks" / "mnist_like.bp"


@pytest.fixture(scope="module")
def small():
    """Return 40 generated samples (images, one-hot targets), their CSV, and the graph on them."""
    x, y = digits(40, seed=3)
    text = csv_text(x, y)
    return x, y, text, build(NETWORK, text)


def test_the_generated_digits_are_the_ten_glyphs_shifted_and_noisy():
    shapes = glyphs()
    assert shapes.shape == (10, 8, 8) and set(np.unique(shapes)) == {0.0, 1.0}
    assert len({s.tobytes() for s in shapes}) == 10  # ten different glyphs
    x, y = digits(30, seed=5)
    assert x.shape == (30, 64) and y.shape == (30, 10)
    assert x.min() >= 0 and x.max() <= 1 and np.all(np.round(x, 1) == x)  # tenths, in [0, 1]
    assert np.all(y.sum(axis=1) == 1) and list(y.argmax(axis=1)) == [k % 10 for k in range(30)]
    # each image is nearer its own glyph (up to a shift) than any other glyph
    for image, d in zip(x, y.argmax(axis=1)):
        near = [
            min(
                np.abs(image.reshape(8, 8) - np.roll(g, (a, b), axis=(0, 1))).sum()
                for a in (-1, 0, 1)
                for b in (-1, 0, 1)
            )
            for g in shapes
        ]
        assert int(np.argmin(near)) == d
    again = digits(30, seed=5)
    assert np.array_equal(again[0], x) and not np.array_equal(digits(30, seed=6)[0], x)


def test_the_shipped_csv_is_the_generators_output():
    header = ",".join([f"x[{i}]" for i in range(1, 65)] + [f"y[{i}]" for i in range(1, 11)])
    shipped = (ROOT / "networks" / "digits.csv").read_text("utf-8")
    assert shipped.splitlines()[0] == header
    assert shipped == csv_text(*digits(320, seed=0))  # python benchmarks/digits.py 320


def test_vector_inputs_and_targets_take_their_columns_from_the_csv(small):
    x, y, _, graph = small
    values = {leaf.name: leaf.value for leaf in graph.leaves}
    assert values["x[1]"] == tuple(x[:, 0]) and values["x[64]"] == tuple(x[:, 63])
    assert values["x[10]"] == tuple(x[:, 9])  # row 2, column 2 of each image
    assert values["y[3]"] == tuple(y[:, 2]) and graph.samples == 40


def test_a_small_generated_set_trains_and_the_loss_falls(small):
    _, _, _, graph = small
    records = list(trace(graph, 8, batches=Batches(8)))
    final = records[-1]
    assert isinstance(final, Final) and len(records) == 9
    assert final.loss < final.start_loss - 0.05  # over all 40 samples, before and after


def test_the_cli_trains_it_quietly_on_a_csv_file(small, tmp_path):
    data = tmp_path / "digits.csv"
    data.write_text(small[2], encoding="utf-8")
    result = CliRunner().invoke(
        app, ["run", str(NETWORK), "--data", str(data), "--steps", "5", "--quiet", "--ascii"]
    )
    assert result.exit_code == 0, result.output
    assert "After 5 steps" in result.stdout and "Step 1" not in result.stdout
    start, final = result.stdout.split("loss L (all samples)")[1].split()[:2]
    assert float(final) < float(start)


def test_numpy_by_hand_gives_bptraces_losses_and_gradients(small):
    x, y, _, graph = small  # the images from the generator, not read back from the graph
    p = arrays(graph.initial_params())
    assert {k: v.shape for k, v in p.items()} == SHAPES
    lr = float(graph.settings["lr"])
    # batches of 32 of 40 samples: the second wraps round (32…39, then 0…23)
    picks = batches(40, 32, 4)
    assert list(picks[1][:9]) == [32, 33, 34, 35, 36, 37, 38, 39, 0]
    steps = [r for r in trace(graph, 4, batches=Batches(32)) if isinstance(r, Step)]
    for record, pick in zip(steps, picks, strict=True):
        assert record.indices == tuple(pick)
        loss, grads = numpy_step(p, x[pick], y[pick])
        assert float(record.loss) == pytest.approx(loss, rel=1e-12, abs=0)
        got = arrays(dict(zip(record.updates.params, record.updates.grad)))
        for name, grad in grads.items():
            scale = np.abs(grad).max()
            np.testing.assert_allclose(got[name], grad, rtol=1e-11, atol=1e-13 * scale)
        p = {name: p[name] - lr * grads[name] for name in p}
    final = list(trace(graph, 4, batches=Batches(32)))[-1]
    _, by_hand = numpy_steps(arrays(graph.initial_params()), x, y, picks, lr)
    assert float(final.loss) == pytest.approx(numpy_loss(by_hand, x, y), rel=1e-12, abs=0)
