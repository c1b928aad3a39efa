"""The tape (the fast path) computes what the exact per-node path computes, bit for bit, and hands
over to it exactly when a value is not finite."""

from __future__ import annotations

import dataclasses
import functools
import math
import operator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from conftest import load
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bptrace.engine import tracer
from bptrace.engine._tape import forward_backward as run
from bptrace.engine._tape import lower
from bptrace.engine.evaluate import CONST
from bptrace.engine.ops import FUNCTIONS, OPERATORS, on_arrays
from bptrace.engine.tracer import Final, Step, trace
from bptrace.errors import NumericFault
from bptrace.language.printer import show
from bptrace.language.syntax import Binary, Call, Name, Neg, Num

OPS = [*OPERATORS.values(), *FUNCTIONS.values()]
ROOT = Path(__file__).resolve().parent.parent
NUMBERS = [Fraction(n) for n in ("0", "1", "2", "0.5", "3", "1e300")]


@functools.cache  # built once for each tuple of names: building a strategy costs more than drawing
def expressions(names: tuple[str, ...]):
    leaves = st.one_of(
        st.builds(Name, st.sampled_from(names)), st.builds(Num, st.sampled_from(NUMBERS))
    )

    def extend(children):
        calls = [
            st.builds(
                lambda f, *args: Call(f, tuple(args)), st.just(name), *([children] * op.arity)
            )
            for name, op in FUNCTIONS.items()
        ]
        return st.one_of(
            st.builds(Binary, st.sampled_from(["+", "-", "*", "/", "^"]), children, children),
            st.builds(Neg, children),
            *calls,
        )

    return st.recursive(leaves, extend, max_leaves=6)


@st.composite
def networks(draw) -> str:
    """A random network: params a and b, an input x (one value, or samples), nodes over what came
    before."""
    samples = draw(st.booleans())
    x = "[0.5, -1, 2]" if samples else draw(st.sampled_from(["0.5", "-1", "2"]))
    lines = [
        f"param a = {draw(st.sampled_from(['0.7', '-0.3', '1.5']))}",
        "param b = 1.3",
        f"input x = {x}",
    ]
    names = ["a", "b", "x"]
    for i in range(draw(st.integers(1, 5))):
        expr = draw(expressions(tuple(names)))
        lines.append(f"h{i} = {show(expr)}")
        names.append(f"h{i}")
    # the loss uses both params
    lines.append(f"loss L = {show(draw(expressions(tuple(names))))} + a*b")
    return "\n".join(lines) + "\n"


def first_step(graph, tape: bool):
    """Return step 1's record, or None where it stops the run, and each run of the tape it made.

    With `tape` false the tape hands every step over: the exact per-node path computes it all. lr
    = 0 keeps the update out of it: the tape computes the passes, not the update."""
    ran = []  # (the tape, the leaves' values, what it returned) for each run

    def recorded(*args, **kwargs):
        ran.append((args[0], args[1], run(*args, **kwargs) if tape else None))
        return ran[-1][2]

    with pytest.MonkeyPatch.context() as patch, np.errstate(all="ignore"):
        patch.setattr(tracer, "forward_backward", recorded)
        steps = trace(graph, 1, lr=0.0)
        try:
            return next(steps), ran
        except NumericFault:
            return None, ran
        finally:
            steps.close()


def every_value(tape, leaves, arrays: bool) -> list:
    """Every value a step computes, intermediate ones included (on floats they share slots), with
    the math table's own functions."""
    exact = {f: op.value for op in OPS for f in (op.value.raw, on_arrays(op.value))}
    exact[operator.mul] = OPERATORS["*"].value  # x^2 on floats is x*x, as ^ computes it
    v = [*tape.start, *[0.0] * (tape.temporaries if arrays else tape.registers)]
    v[: len(leaves)] = leaves
    computed = [*tape.start, *leaves]
    for f, a, b, out in tape.arrays if arrays else tape.floats:
        f = exact.get(f, f)
        v[out] = f(v[a]) if b < 0 else f(v[a], v[b])
        computed.append(v[out])
    return computed


def same(a, b) -> bool:
    """Bit for bit: equal floats with equal signs (0.0 is not -0.0), or equal arrays of them."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


@settings(
    suppress_health_check=[HealthCheck.too_slow],
)
@given(networks())
@example(
    "param a = 0.7\nparam b = 1.3\ninput x = 2\nh0 = x*a\nh1 = x*a\nh2 = a\n"
    "loss L = h0 + h1^2 + h2 + a*b\n"
)
# an unused nan: no harm
@example("param a = 0.7\nparam b = 1.3\ninput x = 0.5\nh0 = log(x - 1)\nloss L = a*b\n")
# A nan or an inf in a temporary, which the tape does not check: it must reach a value it does.
@example(
    "param a = 0.7\nparam b = 1.3\ninput x = 2\nloss L = relu(1e300*1e300 - 1e300*1e300) + a*b\n"
)
@example(
    "param a = 0.7\nparam b = 1.3\ninput x = 2\nh0 = max(1e300*1e300*0, a)\nloss L = h0 + a*b\n"
)
@example(
    "param a = 0.7\nparam b = 1.3\ninput x = 2\nh0 = min(a, 1e300*1e300*0) + step(1e300*1e300*0)\n"
    "loss L = h0 + a*b\n"
)
@example("param a = 0.7\nparam b = 1.3\ninput x = 2\nh0 = sign(1e300*1e300*0)\nloss L = h0 + a*b\n")
# inf + array: numpy does not raise
@example("param a = 0.7\nparam b = 1.3\ninput x = [0.5, -1, 2]\nloss L = 1e300*1e300 + x + a*b\n")
def test_the_tape_computes_what_the_exact_path_computes(text):
    agrees(text)


NON_FINITE = {"inf": "1e300*1e300", "-inf": "-(1e300*1e300)", "nan": "1e300*1e300*0"}


@pytest.mark.parametrize("x", ["2", "[0.5, -1, 2]"], ids=["floats", "samples"])
@pytest.mark.parametrize("temporary", sorted(NON_FINITE))
@pytest.mark.parametrize("name", sorted(op.name for op in OPS))
def test_every_operation_on_an_unchecked_inf_or_nan_does_as_the_exact_path_does(name, temporary, x):
    """A temporary (a value no record reads) is not checked on floats: whatever each operation makes
    of an inf or a nan in one, in either argument, the tape must give the exact path's numbers,
    or hand over to it."""
    op = {op.name: op for op in OPS}[name]
    bad = NON_FINITE[temporary]
    for position in range(op.arity):
        args = ["a"] * op.arity
        args[position] = bad
        if name == "neg":
            expr = f"-({bad})"
        elif name in OPERATORS:
            expr = f"({args[0]}) {name} ({args[1]})"
        else:
            expr = f"{name}({', '.join(args)})"
        agrees(f"param a = 0.7\nparam b = 1.3\ninput x = {x}\nh0 = {expr} + x\nloss L = h0 + a*b\n")


def agrees(text: str) -> None:
    """Check that the tape computes what the exact path computes for `text`, or hands over to it."""
    graph = load(text)
    exact, _ = first_step(graph, tape=False)
    fast, ((tape, leaves, ran),) = first_step(graph, tape=True)
    if exact is None:  # the exact path stops the run: the tape must have handed over to it
        assert ran is None and fast is None
        return
    if ran is None:  # handed over: only where some value, intermediate ones included, is not finite
        with np.errstate(all="ignore"):
            everything = [
                *every_value(tape, leaves, graph.samples is not None),
                *exact.grads.values(),
            ]
            assert (
                not all(np.isfinite(v).all() for v in everything)
                or not np.isfinite(sum(everything)).all()
            )
        return
    assert list(fast.values) == list(exact.values) and list(fast.grads) == list(exact.grads)
    for name in exact.values:
        assert same(fast.values[name], exact.values[name]), name
        assert same(fast.grads[name], exact.grads[name]), f"dL/d{name}"
    assert set(fast.partial_values) == set(exact.partial_values)
    for edge, value in exact.partial_values.items():
        assert same(fast.partial_values[edge], value), edge


CASES = [
    (path, optimizer)
    for path in sorted((ROOT / "networks").glob("*.bp"))
    for optimizer in ("as written", "momentum", "adam")
]


@pytest.mark.parametrize("path, optimizer", CASES, ids=[f"{p.name}-{o}" for p, o in CASES])
def test_a_trace_on_the_tape_equals_the_trace_on_the_exact_path(path, optimizer, monkeypatch):
    text = path.read_text(encoding="utf-8")
    # every optimiser's params must stay plain floats, or the two paths part ways
    if optimizer != "as written":
        text = text.replace("set optimizer", "# set optimizer") + f"\nset optimizer = {optimizer}\n"
    graph = load(text)
    fast = list(trace(graph, 30))
    # every step on the exact path
    monkeypatch.setattr(tracer, "forward_backward", lambda *args, **kwargs: None)
    slow = list(trace(graph, 30))
    assert len(fast) == len(slow) == 31
    for a, b in zip(fast, slow):
        if isinstance(a, Final):
            assert same(a.loss, b.loss) and a.params == b.params
            continue
        assert isinstance(a, Step) and same(a.loss, b.loss)
        assert all(same(a.values[k], b.values[k]) for k in b.values) and list(a.values) == list(
            b.values
        )
        assert all(same(a.grads[k], b.grads[k]) for k in b.grads) and list(a.grads) == list(b.grads)
        assert [(p.of, p.wrt) for p in a.partials] == [(p.of, p.wrt) for p in b.partials]
        assert all(same(p.value, q.value) for p, q in zip(a.partials, b.partials))
        assert [(u.param, u.before, u.grad, u.after, u.state) for u in a.updates] == [
            (u.param, u.before, u.grad, u.after, u.state) for u in b.updates
        ]
        assert all(
            same(f, g)
            for c, d in zip(a.chains, b.chains)
            for p, q in zip(c.paths, d.paths)
            for f, g in zip(p.factors, q.factors)
        )


def test_the_example_networks_run_on_the_tape():
    """No network of the examples hands a step over: the fast path is the one that runs."""
    for path in sorted((ROOT / "networks").glob("*.bp")):
        _, ran = first_step(load(path.read_text(encoding="utf-8")), tape=True)
        assert ran and ran[0][2] is not None, path.name


def test_an_expression_is_computed_once_and_a_zero_keeps_its_sign():
    graph = load("param w = 0.5\ninput x = 2\nh = x*w\ng = x*w + tanh(x*w)\nloss L = (g - h)^2\n")
    tape = lower(graph, graph.used_by_loss())
    products = [
        ins
        for ins in tape.floats
        if ins[0].__name__ == "mul" and {ins[1], ins[2]} == {tape.names["x"], tape.names["w"]}
    ]
    # x*w: once, into h's slot, and read from there by g and every partial
    assert len(products) == 1
    assert products[0][3] == tape.names["h"]


def test_a_zero_constant_keeps_its_sign():
    """0.0 == -0.0, yet w*(-0.0) is not w*0.0: equal constants share a slot, signed zeros do not."""
    graph = load("param w = 0.5\nh = w*0\ng = tanh(w*0)\nloss L = h + g\n")
    h, g = graph.nodes[:2]
    negated = tuple((kind, -0.0 if kind == CONST else arg, n) for kind, arg, n in g.program)
    g = dataclasses.replace(g, program=negated)  # no .bp text gives a -0.0: the algebra might
    signed = dataclasses.replace(graph, nodes=(h, g, *graph.nodes[2:]))
    for network, sign, products in ((graph, 1.0, 1), (signed, -1.0, 2)):
        tape = lower(network, network.used_by_loss())
        w = tape.names["w"]
        assert sum(f.__name__ == "mul" and w in (a, b) for f, a, b, _ in tape.floats) == products
        values, _ = run(tape, [0.5])
        assert math.copysign(1, values[tape.names["h"]]) == 1
        assert math.copysign(1, values[tape.names["g"]]) == sign


def test_temporaries_share_buffers_only_when_one_is_dead():
    """With samples, a temporary writes into a shared buffer: never one whose value is still to be
    read."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import network

    graph = load(network(300, samples=7))
    tape = lower(graph, graph.used_by_loss())
    # a node's partials follow it: its temporaries die within a few instructions
    assert tape.shared and tape.buffers <= 20
    buffer_of = {tape.arrays[i][3]: k for i, k in tape.shared}
    holder: dict[int, int] = {}  # buffer → the slot whose value it holds now
    for i, (_, a, b, out) in enumerate(tape.arrays):
        for read in (a, b):
            if read in buffer_of:
                assert holder[buffer_of[read]] == read, (
                    f"instruction {i} reads slot {read}, overwritten"
                )
        if out in buffer_of:
            holder[buffer_of[out]] = out
    # records own their arrays
    assert not set(buffer_of) & (set(tape.names.values()) | set(tape.partials.values()))


@pytest.mark.parametrize("samples", [9, 0], ids=["samples", "floats"])
def test_a_big_network_on_the_tape_equals_the_exact_path(samples, monkeypatch):
    """Thousands of temporaries in shared buffers (with samples) or shared slots (on floats), and
    the records of every step kept: all as the exact path has them."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import network

    graph = load(network(400, samples=samples))
    if not samples:
        tape = lower(graph, graph.used_by_loss())
        # a node's partials follow it: its temporaries die soon
        assert tape.temporaries > 500 and tape.registers <= 20
        # none kept
        assert len(run(tape, [float(leaf.value) for leaf in graph.leaves])[0]) == len(tape.start)
    ran = []
    monkeypatch.setattr(
        tracer,
        "forward_backward",
        lambda *args, **kwargs: ran.append(run(*args, **kwargs)) or ran[-1],
    )
    fast = list(trace(graph, 3))
    assert len(ran) == 4 and None not in ran  # three steps and the final loss, all on the tape
    monkeypatch.setattr(tracer, "forward_backward", lambda *args, **kwargs: None)
    slow = list(trace(graph, 3))
    for a, b in zip(fast[:-1], slow[:-1]):
        assert all(same(a.values[k], b.values[k]) for k in b.values)
        assert all(same(a.grads[k], b.grads[k]) for k in b.grads)
        assert all(same(p.value, q.value) for p, q in zip(a.partials, b.partials))
    assert same(fast[-1].loss, slow[-1].loss) and fast[-1].params == slow[-1].params


def test_slots_take_reads_each_tuple_of_keys_right_however_often_it_is_asked():
    """Slots.take keeps the slots of the keys it was given, for the tape's later runs: the same
    tuple over another name→slot map, or any of many fresh tuples, must still read the right
    values."""
    from bptrace.engine._tape import Slots

    names = {f"n{i}": i for i in range(20)}
    reversed_ = {f"n{i}": 19 - i for i in range(20)}
    run_ = [float(i) for i in range(20)]
    taken: dict = {}
    for k in range(300):
        keys = tuple(f"n{(k * 7 + j) % 20}" for j in range(k % 5 + 1))
        for _ in range(2):
            assert Slots(names, run_, taken).take(keys) == [run_[names[key]] for key in keys]
            assert Slots(reversed_, run_, taken).take(keys) == [
                run_[reversed_[key]] for key in keys
            ]
    assert len(taken) <= 8
    # a tuple dropped right after: the next one is likely given its id, which must not matter
    for k in range(50):
        keys = tuple([f"n{k % 20}"])
        assert Slots(names, run_, taken).take(keys) == [run_[names[keys[0]]]]
        del keys
    values = Slots(names, run_, taken)
    assert values.values() == run_ and values.copy() == dict(zip(names, run_))
