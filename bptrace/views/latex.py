"""Write names, formulas and partial derivatives as LaTeX math (amsmath), to paste into slides."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from bptrace.engine.chains import MAX_LISTED_LENGTH
from bptrace.engine.explain import Explanation, ParamChain, conclusion, factors
from bptrace.language.diagnostics import escaped
from bptrace.language.printer import (
    ATOM,
    POWER,
    PRODUCT,
    SUM,
    UNARY,
    Notation,
    ascii_spellings,
    count_parts,
    number_text,
)
from bptrace.language.syntax import Call, Expr, Name, Neg, Num

if TYPE_CHECKING:  # a network with layers alone imports them (see _matrix)
    from bptrace.engine.explain_layers import LayerAnswers, MatrixExpr, MatrixLine

GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
    "Γ": "Gamma",
    "Δ": "Delta",
    "Θ": "Theta",
    "Λ": "Lambda",
    "Ξ": "Xi",
    "Π": "Pi",
    "Σ": "Sigma",
    "Υ": "Upsilon",
    "Φ": "Phi",
    "Ψ": "Psi",
    "Ω": "Omega",
}
# The glyphs writers.TexWriter chooses: names, formulas and partials are written by this module.
TEX = Notation(
    times=r"\cdot",
    minus="-",
    partial=r"\partial",
    pretty=False,
    infinity=r"\infty",
    squared="^2",
    hat=r"\hat{{{}}}",
    root=r"\sqrt{{{}}}",
    alpha=r"\alpha",
    mu=r"\mu",
    beta1=r"\beta_1",
    beta2=r"\beta_2",
    eps=r"\epsilon",
)
ACCENTS = {"\u0302": "hat", "\u0304": "bar", "\u0303": "tilde", "\u0307": "dot"}  # x̂ x̄ x̃ ẋ
# the rest are written \operatorname{…}
FUNCTIONS = {
    "sigmoid": r"\sigma",
    "tanh": r"\tanh",
    "exp": r"\exp",
    "log": r"\log",
    "sin": r"\sin",
    "cos": r"\cos",
    "max": r"\max",
    "min": r"\min",
}


def name(text: str, spelled: Mapping[str, str] | None = None) -> str:
    """Return a .bp name as LaTeX: w1 is w_{1}, θ is \\theta, x̂ is \\hat{x}, loss is \\mathit{loss}.

    As on the terminal, only a letter's trailing digits become a subscript: w_1 stays one word,
    so that w1 and w_1 never look the same. `spelled` (see spellings) holds names written otherwise.
    """
    if spelled and text in spelled:
        return spelled[text]
    if text.endswith("]"):  # an element of a layer, W1[2,1]: W_{1}[2,1]
        layer, bracket, index = text.partition("[")
        return name(layer, spelled) + bracket + index
    if "_" in text:
        return rf"\mathit{{{''.join(_letters(text))}}}"
    base = text.rstrip("0123456789")
    digits = text[len(base) :]
    latex = _base(base) if base else ""
    if digits and base:
        return f"{latex}_{{{digits}}}"
    return latex + digits


def _base(text: str) -> str:
    letters = _letters(text)
    if len(letters) == 1:
        return letters[0]
    if all(len(x) == 1 for x in letters):
        return rf"\mathit{{{''.join(letters)}}}"  # one word, not a product of letters
    return "".join(letters)


def _letters(text: str) -> list[str]:
    letters: list[str] = []
    for ch in unicodedata.normalize("NFD", text):
        if ch in ACCENTS and letters:
            letters[-1] = f"\\{ACCENTS[ch]}{{{letters[-1]}}}"
        elif unicodedata.combining(ch):
            continue  # an accent LaTeX has no command for here: the bare letter
        elif ch in GREEK:
            letters.append(f"\\{GREEK[ch]}")
        elif ch == "_":
            letters.append(r"\_")
        elif ch.isascii():
            letters.append(ch)
        else:
            letters.append(_spelled(ch))
    return letters


def spellings(names: Iterable[str]) -> dict[str, str]:
    """Return how to write a network's names that `name` would write alike, no two looking the same.

    𝔁 and x are both x in LaTeX, ﬁ and fi both \\mathit{fi}: as on an ASCII terminal
    (printer.ascii_spellings), a name in ASCII keeps its LaTeX, and each name not in ASCII that
    looks like another is written as its ASCII spelling there (𝔁 beside x is x_u1d501, so
    \\mathit{x\\_u1d501}). The names `name` writes apart are left out.
    """
    names = list(dict.fromkeys(names))
    if all(n.isascii() for n in names):
        return {}  # `name` writes ASCII names apart
    look = {n: _look(name(n)) for n in names}
    counts = Counter(look.values())
    alike = [n for n in names if counts[look[n]] > 1 and not n.isascii()]
    taken = {look[n] for n in names if n not in alike}
    spelled: dict[str, str] = {}
    ascii = ascii_spellings(alike + [n for n in names if n.isascii()])
    for n in alike:
        candidate, k = name(ascii[n]), 2
        while _look(candidate) in taken:  # a name written to look like that spelling: number it
            candidate, k = name(f"{ascii[n]}_{k}"), k + 1
        taken.add(_look(candidate))
        spelled[n] = candidate
    return spelled


def _look(latex: str) -> str:
    """Return what a name's LaTeX shows, near enough: \\mathit{fi} and fi (of ﬁ) both show fi."""
    return re.sub(r"\\math(?:it|rm)|[{}]", "", latex)


def _spelled(ch: str) -> str:
    stripped = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    # Letters and digits only: ⑴ is not (1), which reads as a call, nor ͺ a space.
    return stripped if stripped.isalnum() else rf"\mathrm{{u{ord(ch):04x}}}"


def _local(edge, direct: frozenset[tuple[str, str]], spelled: Mapping[str, str]) -> str:
    """Return a local partial ∂of/∂wrt, marked when it is the edge alone, not the gradient."""
    text = partial(edge.of, edge.wrt, spelled)
    return _direct(text) if (edge.of, edge.wrt) in direct else text


def _direct(partial: str) -> str:
    """Return a local partial ∂L/∂name marked as the edge itself, not the gradient of that name."""
    return rf"\left.{partial}\right|_{{\text{{direct}}}}"


def partial(of: str, wrt: str, spelled: Mapping[str, str] | None = None) -> str:
    """Return ∂of/∂wrt as a fraction."""
    return rf"\frac{{\partial {name(of, spelled)}}}{{\partial {name(wrt, spelled)}}}"


def formula(
    e: Expr, value_of: Callable[[str], str] | None = None, spelled: Mapping[str, str] | None = None
) -> str:
    """Return an expression as LaTeX math; with `value_of`, each name replaced by its number."""
    return _latex(e, value_of, spelled)[0]


def number(text: str) -> str:
    """Return a number as written for people (−0.13, 1.8e−07, ∞) in LaTeX math."""
    text = text.replace("−", "-").replace("∞", r"\infty")
    if "e" in text and text not in ("nan",):
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return r"\text{NaN}" if text == "nan" else text


def _wrap(part: tuple[str, int], need: int) -> str:
    text, level = part
    return rf"\left({text}\right)" if level < need else text


def _latex(e: Expr, value_of=None, spelled: Mapping[str, str] | None = None) -> tuple[str, int]:
    if isinstance(e, Num):
        v = e.value
        text, level = number_text(abs(v)), ATOM
        if "/" in text:
            p, q = text.split("/")
            text, level = rf"\frac{{{p}}}{{{q}}}", POWER  # a base of a power needs parentheses
        elif "e" in text:
            mantissa, exponent = text.split("e")
            text, level = rf"{mantissa} \times 10^{{{int(exponent)}}}", PRODUCT
        return ("-" + text, UNARY) if v < 0 else (text, level)
    if isinstance(e, Name):
        if value_of is None:
            return name(e.id, spelled), ATOM
        text = value_of(e.id)  # already LaTeX (see writers.Writer.number)
        return (rf"\left({text}\right)" if text.startswith("-") or "times" in text else text), ATOM
    if isinstance(e, Neg):
        return "-" + _wrap(
            _latex(e.operand, value_of, spelled), POWER if isinstance(e.operand, Neg) else PRODUCT
        ), UNARY
    if isinstance(e, Call):
        # A number alone as an argument needs no parentheses of its own: σ(−0.15), not σ((−0.15)).
        args = ", ".join(
            value_of(a.id) if value_of and isinstance(a, Name) else formula(a, value_of, spelled)
            for a in e.args
        )
        if e.fn == "sqrt":
            return rf"\sqrt{{{args}}}", ATOM
        if e.fn == "abs":
            return rf"\left\lvert {args} \right\rvert", ATOM
        fn = FUNCTIONS.get(e.fn, rf"\operatorname{{{e.fn}}}")
        return rf"{fn}\left({args}\right)", ATOM
    left, right = _latex(e.left, value_of, spelled), _latex(e.right, value_of, spelled)
    if e.op in "+-":
        right_text = (
            _wrap(right, PRODUCT) if not right[0].startswith("-") else rf"\left({right[0]}\right)"
        )
        return f"{_wrap(left, SUM)} {e.op} {right_text}", SUM
    if e.op == "*":
        right_text = (
            _wrap(right, POWER) if not right[0].startswith("-") else rf"\left({right[0]}\right)"
        )
        return rf"{_wrap(left, PRODUCT)} \cdot {right_text}", PRODUCT
    if e.op == "/":
        return rf"\frac{{{left[0]}}}{{{right[0]}}}", POWER
    return f"{{{_wrap(left, ATOM)}}}^{{{right[0]}}}", POWER


# TeX breaks inline math after a relation or an operator, not after a comma.
_BREAKABLE_COMMA = r", \allowbreak "


def explanation(
    answers: Explanation,
    title: str,
    spelled: Mapping[str, str] | None = None,
    layers: LayerAnswers | None = None,
) -> str:
    """Return the five answers as a LaTeX fragment: an enumerate with align* blocks (needs amsmath).

    `spelled` writes the network's look-alike names apart (see spellings); `layers`, for a network
    written with layers, adds the counts per layer and the matrix form of the chains.
    """
    loss, spelled = answers.loss, spelled or {}
    entry = _count(len(answers.params), "entry", "entries")
    partials = _count(
        len(answers.partials), "local partial derivative", "local partial derivatives"
    )
    entries = [
        partial(loss, p, spelled) if p is not None else r"\ldots" for p in answers.gradient_entries
    ]
    by = _by_layer(layers, loss, spelled) if layers else [[], [], [], []]
    lines = [
        comment(title),
        "% Paste into a slide or a handout; needs \\usepackage{amsmath}.",
        r"\begin{enumerate}",
        rf"  \item The gradient has {entry}, one per param:",
        # \bigl, not \left(: a line may break inside it.
        rf"    $\nabla {name(loss, spelled)} = \bigl({_BREAKABLE_COMMA.join(entries)}\bigr)$.",
        *by[0],
        rf"  \item Backprop computes {partials}, each once:",
        r"    \begin{align*}",
        *_rows(
            [
                rf"{_local(e, answers.direct, spelled)} &= {formula(e.formula, None, spelled)}"
                for e in answers.partials
            ]
        ),
        r"    \end{align*}",
        *by[1],
        r"  \item[3--4.] Each param's partial derivative, by the chain rule:",
        r"    \begin{align*}",
        *_rows([row for chain in answers.written for row in _chain(chain, loss, spelled)]),
        r"    \end{align*}",
        *by[2],
        rf"  \item[5.] {_text(conclusion(answers, lambda p: f'${name(p, spelled)}$', '--'))}",
        *by[3],
        r"\end{enumerate}",
    ]
    return "\n".join(lines) + "\n"


def _by_layer(by: LayerAnswers, loss: str, spelled: Mapping[str, str]) -> list[list[str]]:
    """Return the lines each answer adds for a network written with layers."""
    params = ", ".join(
        f"${name(p.name, spelled)}$: {_entries(p.shape, p.entries)}" for p in by.params
    )
    total = sum(p.entries for p in by.params)
    partials = ", ".join(f"${partial(g.of, g.wrt, spelled)}$: {g.count}" for g in by.partials)
    count = sum(g.count for g in by.partials)
    lengths = ", ".join(
        f"${name(p.name, spelled)}$: {_span(p.shortest, p.longest)}" for p in by.params if p.longest
    )
    matrix = [_matrix_line(line, loss, spelled) for line in by.lines]
    return [
        [rf"    By layer: {params}; {total} in all."],
        [rf"    By layer: {partials}; {count} in all."],
        [
            r"    In matrix form, layer by layer back from the loss, where $\delta$ is "
            rf"${partial(loss, 'z', spelled)}$ of a layer $z = W v + b$:",
            r"    \begin{align*}",
            *_rows(matrix),
            r"    \end{align*}",
        ],
        [rf"    By layer, factors per path: {lengths}."],
    ]


def _entries(shape: tuple[int, ...], entries: int) -> str:
    times = r" \times "
    return f"${times.join(map(str, shape))} = {entries}$" if len(shape) > 1 else str(entries)


def _span(shortest: int, longest: int) -> str:
    return str(longest) if shortest == longest else f"{shortest}--{longest}"


def _matrix_line(line: MatrixLine, loss: str, spelled: Mapping[str, str]) -> str:
    left = _matrix(line.left, loss, spelled)
    stop = line.unrecognised
    if stop is None:
        return rf"{left} &= {_matrix(line.right, loss, spelled)}"
    why = rf"\text{{{text(stop.name)}: not of a recognised pattern}}"
    if line.right is None:
        return rf"{left} && {why}"
    return rf"{left} &= {_matrix(line.right, loss, spelled)} && {why}"


def _matrix(e: MatrixExpr, loss: str, spelled: Mapping[str, str], inner: bool = False) -> str:
    """Return a matrix expression: δ₁ xᵀ as \\delta_{1} x^{\\top}."""
    from bptrace.engine.explain_layers import Delta, Derivative, Grad, Hadamard, Product, Ref

    if isinstance(e, Ref):
        return name(e.name, spelled) + (r"^{\top}" if e.transposed else "")
    if isinstance(e, Delta):
        mark = e.mark if e.mark.isdigit() else name(e.mark, spelled)
        return rf"\delta_{{{mark}}}"
    if isinstance(e, Grad):
        return partial(loss, e.name, spelled)
    if isinstance(e, Derivative):
        fn = FUNCTIONS.get(e.fn, rf"\operatorname{{{e.fn}}}")
        return rf"{fn}'\left({name(e.name, spelled)}\right)"
    if isinstance(e, Product):
        body = " ".join(_matrix(f, loss, spelled, True) for f in e.factors)
    elif isinstance(e, Hadamard):
        body = (
            rf"{_matrix(e.left, loss, spelled, True)} \odot {_matrix(e.right, loss, spelled, True)}"
        )
    else:
        body = " + ".join(_matrix(t, loss, spelled, True) for t in e.terms)
    return rf"\left({body}\right)" if inner else body


def _rows(rows: list[str]) -> list[str]:
    return [f"      {row}" + (r" \\" if i < len(rows) - 1 else "") for i, row in enumerate(rows)]


def _chain(chain: ParamChain, loss: str, spelled: Mapping[str, str]) -> list[str]:
    """Return a chain's align* rows: the first path after '&=', the others after '&\\quad +'."""
    left = partial(loss, chain.param, spelled)
    count = rf"&& \text{{{factors(chain, '--')} factor{'' if factors(chain) == '1' else 's'}}}"
    if chain.total == 0:
        return [rf"{left} &= 0 && \text{{no path}}"]
    if not chain.paths:
        paths = f"{_count(chain.total, 'path', 'paths')} of more than {MAX_LISTED_LENGTH} factors"
        return [rf"{left} &= \text{{{paths}}} {count}"]
    rows = []
    for i, path in enumerate(chain.paths):
        terms = [partial(a, b, spelled) for a, b in zip(path, path[1:])]
        if len(terms) == 1:
            # The edge itself, not the gradient of that name (nor circular when the only path).
            terms = [_direct(terms[0])]
        product = r" \cdot ".join(terms)
        rows.append(rf"{left} &= {product} {count}" if i == 0 else rf"&\quad + {product}")
    if chain.total > len(chain.paths):
        more = _count(chain.total - len(chain.paths), "more path", "more paths")
        rows.append(rf"&\quad + \cdots \text{{ ({more})}}")
    return rows


_SPECIAL = str.maketrans(
    {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
        # OT1 would set <>| as ¡¿—.
        "<": r"\textless{}",
        ">": r"\textgreater{}",
        "|": r"\textbar{}",
    }
)


def text(words: str) -> str:
    """Return any text (a file name, a header) for LaTeX text mode, on one line, all escaped."""
    return escaped(words).translate(_SPECIAL)


def comment(words: str) -> str:
    """Return a % comment holding any text, on one line: nothing after a break is read as LaTeX."""
    return f"% {escaped(words)}"


def _text(sentence: str) -> str:
    """Return prose for LaTeX text mode (its names are already $…$)."""
    return sentence.replace("%", r"\%").replace("&", r"\&").replace("#", r"\#")


def count(n: int) -> str:
    """Return a count for text mode: 1,024, or past 24 digits $\\approx 1.2 \\cdot 10^{4304}$."""
    parts = count_parts(n)
    return f"{n:,}" if parts is None else rf"$\approx {parts[0]} \cdot 10^{{{parts[1]}}}$"


def _count(n: int, one: str, many: str) -> str:
    return f"{count(n)} {one if n == 1 else many}"
