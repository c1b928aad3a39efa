"""Statements built from a template are the statements the parser builds: the same trees, spans,
errors."""

from __future__ import annotations

from conftest import ROOT, examples
from hypothesis import given, settings
from hypothesis import strategies as st

from bptrace.errors import NetworkError
from bptrace.language import parser
from bptrace.language.layers import expand
from bptrace.language.lexer import tokenize

# A skeleton is source text with @ where a name goes and # where a number goes; its instances differ
# in those only, so they all have one shape.
LEAVES = st.sampled_from(["@", "#", "(@)", "-#", "-(#)", "+@", "--#", "((#))"])


def extend(inner):
    two = st.tuples(inner, inner)
    return st.one_of(
        two.map(lambda p: f"{p[0]} + {p[1]}"),
        two.map(lambda p: f"{p[0]}*{p[1]}"),
        two.map(lambda p: f"{p[0]} - {p[1]}"),
        two.map(lambda p: f"{p[0]}/{p[1]}"),
        two.map(lambda p: f"{p[0]}^{p[1]}"),
        two.map(lambda p: f"{p[0]}**{p[1]}"),
        inner.map(lambda a: f"-{a}"),
        inner.map(lambda a: f"({a})"),
        inner.map(lambda a: f"tanh({a})"),
        inner.map(lambda a: f"σ({a})"),
        two.map(lambda p: f"max({p[0]}, {p[1]})"),
        two.map(lambda p: f"(\n  {p[0]}\n  + {p[1]})"),
    )


SKELETONS = st.tuples(
    st.sampled_from(["@ = ", "loss @ = ", "param @ = ", "const @ = ", "set @ = ", "input @ = "]),
    st.recursive(LEAVES, extend, max_leaves=8),
).map("".join)
# a function's name and a keyword are refused
NAMES = [
    "x",
    "w1",
    "θ",
    "b_2",
    "hé",
    "x",
    "w1",
    "uniform",
    "exp",
    "param",
]
# 1e999 is too large for a float
NUMBERS = [
    "2",
    "0.5",
    "1e3",
    "0",
    "3.25",
    ".5",
    "0",
    "2",
    "1e999",
]


def instance(skeleton: str, draw) -> str:
    out = []
    for ch in skeleton:
        out.append(
            draw(st.sampled_from(NAMES))
            if ch == "@"
            else draw(st.sampled_from(NUMBERS))
            if ch == "#"
            else ch
        )
    return "".join(out)


def parsed(text: str, templates: bool):
    try:
        if templates:
            return repr(parser.parse(text))
        rules = parser._Parser(tokenize(text))
        statements = rules.program()  # every statement through the parser's rules
        return repr(expand(statements, text) if rules.layered else statements)
    except NetworkError as e:
        return ("error", str(e), e.span, e.hint)


@settings(max_examples=examples(2))  # cheap, and shapes combine in many ways
@given(st.lists(SKELETONS, min_size=1, max_size=3), st.data())
def test_statements_of_one_shape_parse_as_the_parser_parses_them(skeletons, data):
    lines = [instance(s, data.draw) for s in skeletons for _ in range(3)]
    order = data.draw(st.permutations(lines))
    text = "\n".join(order) + "\n"
    assert parsed(text, templates=True) == parsed(text, templates=False)


def test_the_example_networks_parse_the_same_with_templates():
    for path in sorted((ROOT / "networks").glob("*.bp")):
        text = path.read_text(encoding="utf-8")
        assert parsed(text, templates=True) == parsed(text, templates=False)


def test_a_big_generated_network_is_built_from_twenty_templates(monkeypatch):
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import network

    built = []
    build = parser._template.build_statement
    monkeypatch.setattr(
        parser._template, "build_statement", lambda *args: built.append(1) or build(*args)
    )
    text = network(2000)
    assert parsed(text, templates=True) == parsed(text, templates=False)
    assert len(built) > 1900  # all but each shape's first statement


def test_a_sign_is_read_from_the_tokens_not_the_value():
    """−0 is 0, so the first statement's value cannot say its number has a sign: its tokens do."""
    text = "x = -0\ny = -2\nz = -(-(3))\nv = -(-(0))\n"
    assert parsed(text, templates=True) == parsed(text, templates=False)
    assert [s.expr.value for s in parser.parse(text)] == [0, -2, 3, 0]
