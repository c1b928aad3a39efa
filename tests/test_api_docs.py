"""docs/api.md: every ```python block of it, run top to bottom as one script, works as it says."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT

DOC = ROOT / "docs" / "api.md"


def blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.S | re.M)


def test_the_api_page_has_an_example_of_each_public_function():
    code = "\n".join(blocks())
    public = (
        *("bptrace.load(", "bptrace.parse(", "bptrace.grade(", ".to_jsonl()"),
        *(".with_seed(", ".with_data(", ".with_settings(", ".variant("),
        *(".steps(", ".run(", ".check(", ".explain(", ".nudge(", ".draw(", ".handout("),
        *(".compare(", ".mistakes("),
    )
    for used in public:
        assert used in code, used
    assert "bptrace.NetworkError" in code and "bptrace.FileError" in code


def test_every_python_block_of_the_api_page_runs(tmp_path):
    script = tmp_path / "walkthrough.py"
    script.write_text("\n\n".join(blocks()), encoding="utf-8")
    # from the repository, where networks/ is; asserts in the blocks check the numbers
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, encoding="utf-8"
    )
    assert done.returncode == 0, done.stderr
    assert "net.bp:2:12: error: unknown name 'q'" in done.stdout
    assert "[0.125, 0.045, 0.0162]" in done.stdout
