"""The math table's fast path on Python floats agrees with numpy bit for bit, special values included."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bptrace.ops import FUNCTIONS, OPERATORS, _sigmoid_array

NUMPY = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power, "neg": np.negative,
    "sigmoid": _sigmoid_array, "tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0), "exp": np.exp, "log": np.log,
    "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "abs": np.abs, "max": np.maximum, "min": np.minimum,
    "step": lambda x: np.heaviside(x, 0.0), "sign": np.sign,
}
SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.0, 2.5, -2.5, 0.5, 3.0, -8.0, 1 / 3, 1e308, -1e308, 1e-310, 5e-324,
           float("inf"), float("-inf"), float("nan"), 710.0, -745.5, 1e-8, 100.0]
OPS = {**OPERATORS, **FUNCTIONS}


def same(fast, slow) -> bool:
    fast, slow = np.float64(fast), np.float64(slow)
    return bool(np.isnan(fast) and np.isnan(slow)) or fast.tobytes() == slow.tobytes()


def check(name: str, *args: float) -> None:
    with np.errstate(all="ignore"):
        fast = OPS[name].value(*args)
        slow = NUMPY[name](*(np.float64(a) for a in args))
    assert same(fast, slow), (name, args, fast, slow)


@pytest.mark.parametrize("name", sorted(OPS))
def test_special_values(name):
    for args in itertools.product(SPECIAL, repeat=OPS[name].arity):
        check(name, *args)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(OPS)), st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=2, max_size=2))
def test_random_values(name, values):
    check(name, *values[: OPS[name].arity])
