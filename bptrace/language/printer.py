"""Write expressions back out: as .bp text that parses to the same tree, or as slide math."""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import count

from bptrace.language.syntax import Call, Expr, Index, Name, Neg, Num, Transpose

# Precedence levels, loosest first.
SUM, PRODUCT, UNARY, POWER, ATOM = 1, 2, 3, 4, 5

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True, slots=True)
class Notation:
    """How math is written: plain .bp text, or slide math in Unicode; each glyph a view chooses."""

    times: str
    minus: str
    partial: str
    pretty: bool  # slide math: w1 as w₁, x^2 as x², a huge count as ≈ 1.2·10²⁵
    ascii_names: bool = False  # spell θ as theta, for terminals that cannot show it
    # With ascii_names: a network's names as spelled, none alike (ascii_spellings).
    spelled: Mapping[str, str] | None = None
    dots: str = "..."  # rows or factors left out
    infinity: str = "inf"
    dash: str = "-"  # a range: questions 3-4
    approx: str = "~"
    at_most: str = "<="
    nabla: str = "grad "  # the gradient of: grad L
    delta: str = "delta"  # a nudge
    change: str = "delta "  # the change of: delta L
    squared: str = "^2"
    arrow: str = "<-"  # an edge into a node
    bars: str = "_.-~=+*#"  # a sparkline's, lowest first
    marker: str = ">"  # a focused row
    sigmoid: str = "sigmoid"
    hat: str = "{}_hat"  # adam's bias-corrected m and v
    root: str = "sqrt({})"
    # The optimisers' settings: the learning rate, momentum, adam's betas and epsilon.
    alpha: str = "lr"
    mu: str = "mu"
    beta1: str = "beta1"
    beta2: str = "beta2"
    eps: str = "eps"


BP = Notation(times="*", minus="-", partial="d", pretty=False)
MATH = Notation(
    times="·",
    minus="−",
    partial="∂",
    pretty=True,
    dots="…",
    infinity="∞",
    dash="–",
    approx="≈",
    at_most="≤",
    nabla="∇",
    delta="Δ",
    change="Δ",
    squared="²",
    arrow="←",
    bars="▁▂▃▄▅▆▇█",
    marker="▸",
    sigmoid="σ",
    hat="{}\u0302",
    root="√{}",
    alpha="α",
    mu="μ",
    beta1="β₁",
    beta2="β₂",
    eps="ε",
)
ASCII = replace(BP, ascii_names=True)


def number_text(v: Fraction) -> str:
    """Return text for a non-negative number: 2, 0.25, 2.5e-8, 1/3, or else the float's repr."""
    return exact_text(v) or repr(float(v)).replace("e+", "e")


def exact_text(v: Fraction) -> str | None:
    """Return short text that reads back as exactly `v` (v ≥ 0), or None when there is none."""
    p, q = v.numerator, v.denominator
    if q == 1:
        digits = str(p)
        mantissa = digits.rstrip("0")
        if len(digits) > 15 and len(digits) - len(mantissa) > 3 and len(mantissa) <= 17:
            return _scientific(mantissa, len(digits) - 1)  # exact: 10^308 is 1e308
        return digits if len(digits) <= 40 else None  # the parser reads up to 40 digits exactly
    k = _decimal_places(q)
    if k is not None:
        digits = str(p * 10**k // q)
        if k <= 6 and len(digits) <= 40:  # as for whole numbers: longer, the parser reads a float
            digits = digits.rjust(k + 1, "0")
            return f"{digits[:-k]}.{digits[-k:]}"
        if len(digits) <= 17:
            return _scientific(digits, len(digits) - 1 - k)  # exact: 1/40000000 is 2.5e-8
    if p < 2**53 and q < 2**53:
        return f"{p}/{q}"
    return None


def _scientific(digits: str, exponent: int) -> str:
    digits = digits.rstrip("0") or "0"
    return f"{digits[0]}{'.' + digits[1:] if digits[1:] else ''}e{exponent}"


def _decimal_places(q: int) -> int | None:
    """Return k when q divides 10^k (k ≤ 400), else None."""
    twos = fives = 0
    while q % 2 == 0:
        q, twos = q // 2, twos + 1
    while q % 5 == 0:
        q, fives = q // 5, fives + 1
    k = max(twos, fives)
    return k if q == 1 and k <= 400 else None


def name_text(name: str, notation: Notation) -> str:
    """Return a name as written: w1 becomes w₁ in slide math, θ becomes theta in plain ASCII."""
    if notation.ascii_names and not name.isascii():
        return (notation.spelled or {}).get(name) or _spelled(name)
    if not notation.pretty:
        return name
    if name.endswith("]"):  # an element of a layer, W1[2,1]: the layer's name, then the index
        layer, bracket, index = name.partition("[")
        return name_text(layer, notation) + bracket + index
    base = name.rstrip("0123456789")
    digits = name[len(base) :]
    # Only w1 becomes w₁ (w_1 stays w_1), so two different names never look the same.
    if digits and base and base[-1].isalpha():
        return base + digits.translate(_SUBSCRIPTS)
    return name


def ascii_spellings(names: Iterable[str]) -> dict[str, str]:
    """Return how each non-ASCII name of a network is spelled in ASCII, no two names alike.

    θ is theta and ŷ is y, unless the network also has a y (or another name spelled y): then the
    accent is spelled out too, ŷ as y_hat, and where even that is taken, the code points are added
    (ℒ beside L is L_u2112). A name in ASCII is always shown as written.
    """
    names = list(dict.fromkeys(names))
    taken = {name for name in names if name.isascii()}
    spelled: dict[str, str] = {}
    wanted = {name: _spelled(name) for name in names if not name.isascii()}
    counts = Counter(wanted.values())
    for name, text in wanted.items():
        for candidate in (
            text,
            _spelled(name, marks=True),
            f"{text}_{'_'.join(f'u{ord(c):04x}' for c in name if not c.isascii())}",
        ):
            if candidate not in taken and counts[candidate] <= (candidate == text):
                break
        else:  # a name written to look like another's spelling: number it
            candidate = next(
                f"{text}_{k}"
                for k in count(2)
                if f"{text}_{k}" not in taken and f"{text}_{k}" not in counts
            )
        taken.add(candidate)
        spelled[name] = candidate
    return spelled


_MARKS = {
    "\u0302": "hat",
    "\u0304": "bar",
    "\u0305": "bar",
    "\u0303": "tilde",
    "\u0307": "dot",
    "\u0308": "ddot",
    "\u20d7": "vec",
    "\u0301": "acute",
    "\u0300": "grave",
    "\u030c": "check",
    "\u0306": "breve",
}


def _spelled(name: str, marks: bool = False) -> str:
    """Return a name in ASCII letters, each without its accents (with `marks`, then them: y_hat)."""
    out = []
    for ch in unicodedata.normalize("NFKD", name):
        if not unicodedata.combining(ch):
            out.append(_ascii_letter(ch))
        elif marks:
            out.append(
                "_" + _MARKS.get(ch, unicodedata.name(ch, f"u{ord(ch):04x}").split()[-1].lower())
            )
    return "".join(out)


def _ascii_letter(ch: str) -> str:
    if ch.isascii():
        return ch
    stripped = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    if stripped:
        return stripped  # ŷ is y, ℒ is L
    words = unicodedata.name(ch, "").split()
    if "LETTER" in words[:-1]:
        spelled = "".join(words[words.index("LETTER") + 1 :]).lower()  # GREEK SMALL LETTER THETA
        return spelled.capitalize() if "CAPITAL" in words else spelled
    return f"u{ord(ch):04x}"


def partial_text(of: str, wrt: str, notation: Notation) -> str:
    """Return ∂of/∂wrt (or dof/dwrt in plain text)."""
    d = notation.partial
    return f"{d}{name_text(of, notation)}/{d}{name_text(wrt, notation)}"


def show(
    e: Expr,
    notation: Notation = BP,
    value_of: Callable[[str], str] | None = None,
) -> str:
    """Return `e` as text; with `value_of`, each name is replaced by its (formatted) value."""
    return _show(e, notation, value_of)[0]


def _wrap(part: tuple[str, int], need: int, minus: str | None = None) -> str:
    """Parenthesize a part binding looser than `need`, or a right operand starting with `minus`."""
    text, level = part
    return f"({text})" if level < need or (minus and text.startswith(minus)) else text


def _show(e: Expr, n: Notation, value_of) -> tuple[str, int]:
    if isinstance(e, Num):
        text = number_text(abs(e.value))
        level = PRODUCT if "/" in text else ATOM
        if e.value < 0:
            return n.minus + text, min(level, UNARY)
        return text, level
    if isinstance(e, Name):
        if value_of is None:
            return name_text(e.id, n), ATOM
        text = value_of(e.id)
        return (f"({text})" if text.startswith(n.minus) else text), ATOM
    if isinstance(e, Neg):
        text, level = _show(e.operand, n, value_of)
        if level < UNARY or text.startswith(n.minus):
            text = f"({text})"
        return n.minus + text, UNARY
    if isinstance(e, Call):
        fn = n.sigmoid if e.fn == "sigmoid" else e.fn
        args = (
            value_of(a.id) if value_of and isinstance(a, Name) else _show(a, n, value_of)[0]
            for a in e.args
        )
        return f"{fn}({', '.join(args)})", ATOM
    if isinstance(e, Index | Transpose):  # a layer's formula as written (views of layers)
        return _layer_part(e, n, value_of)
    left, right = _show(e.left, n, value_of), _show(e.right, n, value_of)
    if e.op == "@":
        return f"{_wrap(left, PRODUCT)} @ {_wrap(right, POWER, n.minus)}", PRODUCT
    if e.op in "+-":
        sign = "+" if e.op == "+" else n.minus
        return f"{_wrap(left, SUM)} {sign} {_wrap(right, PRODUCT, n.minus)}", SUM
    if e.op in "*/":
        sign = n.times if e.op == "*" else "/"
        return f"{_wrap(left, PRODUCT)}{sign}{_wrap(right, POWER, n.minus)}", PRODUCT
    base = _wrap(left, ATOM)
    if (
        n.pretty
        and isinstance(e.right, Num)
        and e.right.value.denominator == 1
        and 0 <= e.right.value < 100
    ):
        return base + str(e.right.value).translate(_SUPERSCRIPTS), POWER
    return f"{base}^{_wrap(right, POWER)}", POWER


def _layer_part(e: Index | Transpose, n: Notation, value_of) -> tuple[str, int]:
    """Return h1[2] or W' as text (Wᵀ in slide math)."""
    if isinstance(e, Index):
        index = ",".join(number_text(k.value) for k in e.indices)
        return name_text(f"{e.name.id}[{index}]", n), ATOM
    return _wrap(_show(e.operand, n, value_of), ATOM) + ("ᵀ" if n.pretty else "'"), ATOM


def format_value(v, precision: int, notation: Notation = BP) -> str:
    """Return a number, or the samples of an array as a short list: [0, 1, 1, 0], [0.1, 0.2, …]."""
    if getattr(v, "ndim", 0):
        items = [format_number(x, precision, notation) for x in list(v)[:6]]
        more = f", {notation.dots}" if len(v) > 6 else ""
        return f"[{', '.join(items)}{more}]"
    return format_number(v, precision, notation)


def format_number(v: float, precision: int, notation: Notation = BP) -> str:
    """Return `v` rounded to `precision` significant digits for a human to read."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return notation.infinity if v > 0 else notation.minus + notation.infinity
    if v == 0:
        return "0"
    if precision >= 16:
        text = f"{v:.{precision}g}"  # the float's own digits
    else:
        # Round the way a person does by hand: half up, on the decimal value without float noise,
        # so 1.13**2/2 (0.6384499999999999 in binary) shows as 0.6385, not 0.6384.
        exact = Decimal(f"{v:.15g}")
        rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - precision + 1), ROUND_HALF_UP)
        text = f"{float(rounded):.{precision}g}"
    return text.replace("-", notation.minus)


# A count of more digits is shown as ≈ 1.2·10²⁵: no one reads 25 digits, nor 4,300.
EXACT_COUNT_DIGITS = 24


def count_parts(n: int) -> tuple[str, int] | None:
    """Return a huge count's mantissa, rounded to two digits, and exponent: ("1.2", 4304).

    None when it has at most EXACT_COUNT_DIGITS digits (written exactly). No int-to-str
    conversion: Python refuses one of more than 4,300 digits.
    """
    if n < 10**EXACT_COUNT_DIGITS:
        return None
    e = int(math.log10(n))  # may be one off near a power of ten: corrected below
    e += (n >= 10 ** (e + 1)) - (n < 10**e)
    lead = (n * 10 // 10 ** (e - 1) + 5) // 10  # the first two digits, rounded half up
    if lead == 100:
        lead, e = 10, e + 1
    return f"{lead // 10}.{lead % 10}", e


def count_text(n: int, notation: Notation = BP) -> str:
    """Return a count for a human: 1,152,921,504,606,846,976, or past 24 digits ≈ 1.2·10⁴³⁰⁴."""
    parts = count_parts(n)
    if parts is None:
        return f"{n:,}"
    mantissa, e = parts
    if notation.pretty:
        return f"≈ {mantissa}·10{str(e).translate(_SUPERSCRIPTS)}"
    return f"~{mantissa}e{e}"
