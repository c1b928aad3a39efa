"""The optimisers: how a param moves given its gradient, and the state each keeps between steps.

One table, as the math table is: each optimiser's settings, the state it keeps per param, and its
update, written as in the paper it comes from.

- sgd: after = before − α·g.
- momentum (as PyTorch's SGD with momentum, no dampening): velocity = μ·velocity + g,
  after = before − α·velocity. (Polyak's heavy ball, v = μ·v − α·g, moves the same for a fixed α.)
  `set momentum_form` picks another form (engine/conventions.py):
  - sutskever (Sutskever et al. 2013, eq. 1-2, its sign turned): velocity = μ·velocity + α·g,
    after = before − velocity: α·pytorch's velocity, the same moves while α is fixed;
  - nesterov (PyTorch's SGD with nesterov=True): velocity = μ·velocity + g,
    direction = g + μ·velocity, after = before − α·direction.
- adam (Kingma & Ba 2015, Algorithm 1): m = β₁·m + (1 − β₁)·g, v = β₂·v + (1 − β₂)·g²,
  m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), after = before − α·m̂/(√v̂ + ε), t counting steps from 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

State = dict[str, Any]
Step = Callable[[Any, Any, State, int, float, dict[str, float]], tuple[Any, State]]


@dataclass(frozen=True, slots=True)
class Optimizer:
    """One optimiser: its settings (with defaults), the state it shows per param, and its step."""

    name: str
    settings: dict[str, float]
    shown: tuple[str, ...]  # state shown in the update table, in order
    step: Step
    # The setting of a word that picks its form (a convention: momentum_form), "" for none, and
    # its step in each form; `step` is the default form's.
    form: str = ""
    forms: dict[str, Step] = field(default_factory=dict)

    @property
    def all_settings(self) -> tuple[str, ...]:
        """Return the names of its settings: its numbers', and its form's."""
        return (*self.settings, self.form) if self.form else tuple(self.settings)

    def step_under(self, settings: Mapping[str, Any]) -> Step:
        """Return its step in the form `settings` picks."""
        return self.forms[str(settings[self.form])] if self.form else self.step


def _sgd(before, grad, state: State, t: int, lr: float, s: dict[str, float]):
    return before - lr * grad, {}


def _momentum(before, grad, state: State, t: int, lr: float, s: dict[str, float]):
    velocity = s["momentum"] * state.get("velocity", 0.0) + grad
    return before - lr * velocity, {"velocity": velocity}


def _sutskever(before, grad, state: State, t: int, lr: float, s: dict[str, float]):
    velocity = s["momentum"] * state.get("velocity", 0.0) + lr * grad
    return before - velocity, {"velocity": velocity}


def _nesterov(before, grad, state: State, t: int, lr: float, s: dict[str, float]):
    velocity = s["momentum"] * state.get("velocity", 0.0) + grad
    direction = grad + s["momentum"] * velocity
    return before - lr * direction, {"velocity": velocity, "direction": direction}


def _adam(before, grad, state: State, t: int, lr: float, s: dict[str, float]):
    b1, b2 = s["beta1"], s["beta2"]
    m = b1 * state.get("m", 0.0) + (1 - b1) * grad
    v = b2 * state.get("v", 0.0) + (1 - b2) * grad * grad
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    # math.sqrt, not numpy's: a float stays a Python float, and later operations on the fast path
    return before - lr * m_hat / (math.sqrt(v_hat) + s["eps"]), {
        "m": m,
        "v": v,
        "m_hat": m_hat,
        "v_hat": v_hat,
    }


OPTIMIZERS: dict[str, Optimizer] = {
    "sgd": Optimizer("sgd", {}, (), _sgd),
    "momentum": Optimizer(
        "momentum",
        {"momentum": 0.9},
        ("velocity",),
        _momentum,
        form="momentum_form",
        forms={"pytorch": _momentum, "sutskever": _sutskever, "nesterov": _nesterov},
    ),
    "adam": Optimizer(
        "adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, ("m", "v", "m_hat", "v_hat"), _adam
    ),
}

# Every optimiser setting with its default, and the range it must lie in: [low, high) or (low, …).
SETTING_RANGES = {
    "momentum": (0.0, 1.0),
    "beta1": (0.0, 1.0),
    "beta2": (0.0, 1.0),
    "eps": (0.0, None),
}
