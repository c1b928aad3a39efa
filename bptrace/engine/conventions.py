"""The conventions: small choices on which textbooks, courses and frameworks disagree.

Each is a `set` setting whose default is what bptrace has always computed, so a file that sets
none prints what it always printed. docs/conventions.md says what each changes in the numbers.
This module imports nothing else of bptrace's: a command listing the conventions loads no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Convention:
    """One convention: its setting's name, default, allowed values, meaning and source."""

    name: str
    default: float | str
    choices: tuple[str, ...]  # the words it takes, the default first; () for a number
    bounds: tuple[float, float] | None  # for a number: low ≤ value ≤ high
    doc: str  # what it chooses, in one line
    effect: str  # what changes in the numbers when it is not the default
    source: str  # where each value comes from
    # what changes under one value in particular, where `effect` would speak of another
    effects: dict[str, str] = field(default_factory=dict)

    def effect_of(self, value: str) -> str:
        """Return what changes in the numbers under `value` (its text, as `set` writes it)."""
        return self.effects.get(value, self.effect)

    def allows(self, value: float | str) -> bool:
        """Tell whether `value` is one of its values."""
        if self.bounds is None:
            return value in self.choices
        low, high = self.bounds
        return not isinstance(value, str) and low <= value <= high


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention(
            "reduction",
            "mean",
            ("mean", "sum"),
            None,
            "how a batch's loss and gradients come from its samples': their mean (1/m) or sum",
            "with sum, the loss and every gradient are m times the mean's, for m samples a batch",
            "mean: PyTorch's MSELoss and CrossEntropyLoss (reduction='mean'), Nielsen, Neural "
            "Networks and Deep Learning (C = 1/2n Σ); sum: Rumelhart, Hinton & Williams, Nature "
            "(1986) (E = ½ Σ over the cases)",
            {"mean": "with mean, the loss and every gradient are 1/m of the sum's, for m samples"},
        ),
        Convention(
            "half",
            "written",
            ("written", "true", "false"),
            None,
            "the ½ in front of a squared error: as written, added where missing, or dropped",
            "without the ½ every gradient doubles, and the loss too; adding it halves them",
            "½·squared error: Goodfellow et al., Deep Learning (2016) §6.2.1.1, Bishop, Pattern "
            "Recognition and Machine Learning (2006) §5.2; without: PyTorch's MSELoss",
            {
                "false": "without the ½ every gradient doubles, and the loss too",
                "true": "with a ½ added every gradient halves, and the loss too (a loss that has "
                "one is left as it is)",
                "written": "the loss as the file writes it",
            },
        ),
        Convention(
            "relu_at_0",
            0.0,
            (),
            (0.0, 1.0),
            "relu′(0), the slope taken at relu's kink: any number from 0 to 1",
            "only where a relu's argument is exactly 0: its partial there is the value set",
            "0: PyTorch's relu and jax.nn.relu (see Bertoin et al., Numerical influence of "
            "ReLU'(0) on backpropagation, NeurIPS 2021); any value in [0, 1] is a subgradient "
            "(Goodfellow et al., Deep Learning (2016) §6.3)",
        ),
        Convention(
            "tie",
            "first",
            ("first", "split", "last"),
            None,
            "max's and min's gradient where their arguments are equal: to the first, half to "
            "each, or to the last",
            "only where a max's or min's arguments are equal: which of them the gradient reaches",
            "split: torch.maximum and torch.minimum (half the gradient to each on a tie); "
            "first: `a if a >= b else b` in a hand-written backward pass, and bptrace's own",
        ),
        Convention(
            "momentum_form",
            "pytorch",
            ("pytorch", "sutskever", "nesterov"),
            None,
            "the momentum update: v = μv + g, p −= αv (pytorch); v = μv + αg, p −= v "
            "(sutskever); v = μv + g, p −= α(g + μv) (nesterov)",
            "sutskever: the velocity is α times pytorch's, the params move the same while α is "
            "fixed; nesterov: the params move by α(g + μv), a look-ahead step",
            "pytorch: torch.optim.SGD (momentum, no dampening); sutskever: Sutskever, Martens, "
            "Dahl & Hinton, On the importance of initialization and momentum in deep learning "
            "(ICML 2013) eq. 1-2, as PyTorch's SGD documentation contrasts it; nesterov: "
            "torch.optim.SGD(nesterov=True), after Nesterov (1983)",
            {
                "pytorch": "the velocity is v = μ·v + g and the params move by α·v: the same moves "
                "as sutskever's while α is fixed, other moves than nesterov's",
                "sutskever": "the velocity is α times pytorch's, the params move the same while "
                "α is fixed",
                "nesterov": "the params move by α·(g + μ·v), a look-ahead step",
            },
        ),
    )
}

# Each convention's default, by name.
DEFAULTS: dict[str, float | str] = {c.name: c.default for c in CONVENTIONS.values()}
