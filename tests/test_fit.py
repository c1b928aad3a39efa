"""What is shown is what was computed: at any width, nothing printed is cut short."""

from __future__ import annotations

import contextlib

from typer.testing import CliRunner

from bptrace.cli import app
from conftest import ROOT


def test_a_title_too_long_for_its_rule_is_shown_whole(tmp_path):
    """rich's Rule cut it with an ellipsis: "Nudging w1 in a_network_with_a_rather_long_name.bp, at…"."""
    (tmp_path / "a_network_with_a_rather_long_name.bp").write_text((ROOT / "networks/simple.bp").read_text("utf-8"))
    env = {"COLUMNS": "40", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
    with contextlib.chdir(tmp_path):
        for args, title in [(["nudge", "w1"], "Nudging w1 in a_network_with_a_rather_long_name.bp, at its declared value"),
                            (["graph"], "Computational graph of a_network_with_a_rather_long_name.bp")]:
            result = CliRunner(env=env).invoke(app, [args[0], "a_network_with_a_rather_long_name.bp", *args[1:]])
            assert result.exit_code == 0, result.output
            assert "…" not in result.stdout.split("\n\n")[0]
            assert " ".join(result.stdout.split("\n\n")[0].replace("─", " ").split()) == title
        short = CliRunner(env=env).invoke(app, ["run", str(ROOT / "networks/simple.bp"), "--show", "updates"])
        assert short.stdout.startswith("─" * 16 + " Step 1 " + "─" * 16 + "\n")  # a title that fits stays in its rule
