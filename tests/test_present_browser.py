"""`bptrace present`'s page in a real browser: headless Chromium (Debian's `chromium`), driven by
Playwright's Python package with that browser (never a browser Playwright downloads).

Chromium is installed with apt-get when it is absent and the tests run as root (CI); without it,
or without Playwright (the test extra), the tests are skipped, saying why. The page is loaded from
a file:// URL, keys are pressed, and what is visible is read from the DOM after each.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
TWO_LAYER = ROOT / "networks/two_layer.bp"
VIEWPORT = {"width": 1280, "height": 720}  # a projector's


def chromium() -> str:
    """Return the path of Debian's chromium, installing it with apt-get if absent (as root only);
    skip the test, saying why, when it cannot be had."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0:
        pytest.skip("the browser tests need Debian's chromium: apt-get install chromium (as root)")
    # pytest-xdist's workers may all get here: one installs, the others wait for it
    with open(Path(tempfile.gettempdir()) / "bptrace-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shutil.which("chromium"):
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
            done = subprocess.run(install, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
                done = subprocess.run(install, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"chromium could not be installed: {done.stderr.strip()[-300:]}")
    return shutil.which("chromium") or pytest.skip("chromium installed, but not on PATH")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the browser tests need Playwright (pip install '.[test]')"
    )
    path = chromium()
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


def write_page(network: Path, out: Path, *more) -> Path:
    result = CliRunner(env=ENV).invoke(
        app, ["present", str(network), "-o", str(out), *map(str, more)], prog_name="bptrace"
    )
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture
def page(browser, tmp_path):
    """Return a fresh tab at 1280×720 showing networks/two_layer.bp's page, two steps."""
    tab = browser.new_page(viewport=VIEWPORT)
    tab.problems = []
    tab.on("pageerror", lambda error: tab.problems.append(str(error)))
    tab.on("console", lambda m: m.type == "error" and tab.problems.append(m.text))
    tab.goto(write_page(TWO_LAYER, tmp_path / "two_layer.html", "--steps", "2").as_uri())
    yield tab
    assert tab.problems == []  # no script error, no blocked script or style
    tab.close()


def box_of(page, name: str):
    """Return the graph's box of a name, found by its label as the page writes it."""
    return page.locator(f'#graph .box[data-label="{name}"]')


def value_shown(page, name: str) -> bool:
    return box_of(page, name).locator(".values").is_visible()


def visible_rows(page) -> list[str]:
    return [
        row.inner_text().split("\t")[0]
        for row in page.locator("#table tbody tr").all()
        if row.is_visible()
    ]


def test_the_forward_pass_is_revealed_node_by_node_and_hidden_again(page, tmp_path):
    """two_layer.bp's nodes in source order: z₀, a₀, z₁, a₁, a₂, L."""
    nodes = ["z₀", "a₀", "z₁", "a₁", "a₂", "L"]
    assert not any(value_shown(page, n) for n in nodes)
    assert box_of(page, "w₀").locator(".values").text_content() == "0.1"  # a param's from the start
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert [value_shown(page, n) for n in nodes] == [True, True, True, False, False, False]
    # z₁ = x₀·w₁ + x₁·w₃ + b₁ = 0.5·(−0.2) + (−1)·0.4 + 0 = −0.5
    assert box_of(page, "z₁").locator(".values").text_content() == "−0.5"
    assert visible_rows(page) == ["z₀", "a₀", "z₁"]
    assert "Forward pass" in page.locator("#status").inner_text()
    shot = tmp_path / "three.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.keyboard.press("ArrowLeft")
    assert [value_shown(page, n) for n in nodes] == [True, True, False, False, False, False]
    assert visible_rows(page) == ["z₀", "a₀"]
    page.keyboard.press("Backspace")
    assert visible_rows(page) == ["z₀"]


def test_the_backward_pass_follows_the_forward_one(page):
    """After the 6 nodes, ∂L/∂a₂ = −(y − a₂) is the first local derivative: its edge shows it."""
    for _ in range(6):
        page.keyboard.press("Space")
    assert page.locator("#graph .partial:visible").count() == 0
    assert not box_of(page, "L").locator(".grads").is_visible()
    page.keyboard.press("ArrowRight")
    assert box_of(page, "L").locator(".grads").text_content() == "1"  # the seed ∂L/∂L
    assert box_of(page, "L").locator(".grads").is_visible()
    shown = page.locator("#graph .partial:visible")
    assert shown.count() == 1
    # a₂ = 0.2048 (the forward pass above): −(1 − 0.2048) = −0.7952
    assert shown.text_content() == "−0.7952"
    assert "Local derivatives" in page.locator("#status").inner_text()
    assert visible_rows(page) == ["∂L/∂a₂"]


def test_home_end_and_the_steps(page):
    page.keyboard.press("End")
    assert "Summary" not in page.locator("#status").inner_text()  # step 1 of 2 ends with updates
    # the update of w₀: 0.1 − 0.5·(−0.04942) = 0.1247 (∂L/∂w₀ worked in the chain rule)
    assert "0.1247" in box_of(page, "w₀").text_content()
    page.keyboard.press("Home")
    assert "0 of" in page.locator("#status").inner_text()
    page.keyboard.press("]")
    assert page.locator("#status").inner_text().startswith("Step 2 of 2")
    assert box_of(page, "w₀").locator(".values").text_content() == "0.1247"  # step 2 starts there
    page.keyboard.press("End")
    assert "Summary" in page.locator("#status").inner_text()
    page.keyboard.press("[")
    assert page.locator("#status").inner_text().startswith("Step 1 of 2")
    page.keyboard.press("ArrowLeft")  # nothing before the first step's start
    assert page.locator("#status").inner_text().startswith("Step 1 of 2")


def highlighted(page) -> set[str]:
    return set(
        page.locator("#graph .box.on").evaluate_all("boxes => boxes.map(b => b.dataset.label)")
    )


def test_keyboard_only_a_params_paths_are_highlighted(page):
    """w₀'s one path to the loss: w₀ → z₀ → a₀ → a₂ → L (by hand from the file)."""
    for _ in range(40):  # Tab to w₀'s box, wherever it is in the tab order
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
        if focused == "param w₀":
            break
    else:
        pytest.fail("Tab never reaches w₀'s box")
    page.keyboard.press("Enter")
    assert highlighted(page) == {"w₀", "z₀", "a₀", "a₂", "L"}
    assert page.locator("#graph .box.param.on").get_attribute("aria-pressed") == "true"
    page.keyboard.press("Escape")
    assert highlighted(page) == set()
    page.keyboard.press("p")  # the first param: w₀
    assert highlighted(page) == {"w₀", "z₀", "a₀", "a₂", "L"}
    page.keyboard.press("p")  # then w₁: w₁ → z₁ → a₁ → a₂ → L
    assert highlighted(page) == {"w₁", "z₁", "a₁", "a₂", "L"}
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible() and highlighted(page) == set()


def test_a_click_on_a_param_highlights_its_paths(page):
    box_of(page, "w₄").click()
    assert highlighted(page) == {"w₄", "a₂", "L"}  # a₂ = a₀·w₄ + …, L of a₂
    box_of(page, "w₄").click()
    assert highlighted(page) == set()


def test_hovering_a_formula_shows_it_with_numbers(page):
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    box_of(page, "a₀").hover()
    tip = page.locator("#tip")
    assert tip.is_visible()
    # σ(z₀) with z₀ = −0.15, and σ(−0.15) = 1/(1 + e^0.15) = 0.4626
    assert tip.inner_text() == "a₀ = σ(z₀) = σ(−0.15) = 0.4626"
    box_of(page, "z₁").hover()  # not revealed yet: nothing to show
    assert not tip.is_visible()


def test_the_buttons_do_what_the_keys_do(page):
    page.get_by_role("button", name="next ▶").click()
    assert value_shown(page, "z₀")
    page.get_by_role("button", name="◀ back").click()
    assert not value_shown(page, "z₀")


def test_it_fits_a_projector_without_horizontal_scrolling(page):
    page.keyboard.press("End")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    graph = page.locator("#graph").bounding_box()
    assert graph["x"] >= 0 and graph["x"] + graph["width"] <= VIEWPORT["width"]
    assert page.locator("#controls").bounding_box()["y"] < VIEWPORT["height"]
    assert page.locator("#keys").is_visible()
    # the graph's text, as drawn on the screen, large enough to read from the back of a room
    height = page.locator("#graph .box .head").first.bounding_box()["height"]
    assert height >= 12


def test_the_page_loads_nothing_and_runs_no_other_script(browser, tmp_path):
    """A file named to close the data's script and open another: the page shows the name, runs
    nothing of it, and asks the network for nothing, even when told to."""
    hostile = tmp_path / "</script><script>window.pwned=1</script><!--.bp"  # folders < and script>…
    hostile.parent.mkdir(parents=True)
    hostile.write_text(TWO_LAYER.read_text("utf-8"), "utf-8")
    out = write_page(hostile, tmp_path / "page.html")
    tab = browser.new_page(viewport=VIEWPORT)
    answered: list[str] = []  # a request the policy blocks is made, and fails: no response
    tab.on("response", lambda response: answered.append(response.url))
    tab.goto(out.as_uri())
    assert tab.evaluate("window.pwned") is None
    assert (
        tab.locator("h1").inner_text().endswith("</script><script>window.pwned=1</script><!--.bp")
    )
    tab.keyboard.press("ArrowRight")
    assert value_shown(tab, "z₀")  # the page's own script runs
    blocked = tab.evaluate(
        """() => new Promise(done => {
            document.addEventListener('securitypolicyviolation', e => done(e.violatedDirective));
            const img = document.createElement('img');
            img.src = 'https://example.com/x.png';
            document.body.appendChild(img);
        })"""
    )
    assert blocked.startswith("img-src")
    tab.wait_for_timeout(200)
    assert answered == [out.as_uri()]
    tab.close()


def test_a_local_derivative_is_shown_with_numbers_on_its_edge_and_in_its_table(page):
    """∂L/∂a₂ = −(y − a₂) with y = 1 and a₂ = 0.2048 (the forward pass): −(1 − 0.2048) = −0.7952."""
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    said = "∂L/∂a₂ = −(y − a₂) = −(1 − 0.2048) = −0.7952"
    page.locator("#table td[data-numbers]").first.hover()
    assert page.locator("#tip").inner_text() == said
    page.locator("#graph .partial:visible").hover()
    assert page.locator("#tip").inner_text() == said


# docs/images' screenshots of the page: regenerate them (and look at them) with
#   BPTRACE_SCREENSHOTS=docs/images python -m pytest tests/test_present_browser.py -k screenshots
SCREENSHOTS = {"present_backward.png": 23, "present_paths.png": 27}  # presses of → from the start


def test_the_screenshots_of_the_docs(browser, tmp_path, monkeypatch):
    """Mid-backward: 6 forward + 14 local derivatives + 3 gradients; then w₀'s chain (6 + 14 + 6 +
    1), its path highlighted."""
    folder = Path(os.environ.get("BPTRACE_SCREENSHOTS") or tmp_path).resolve()
    monkeypatch.chdir(ROOT)  # the page's title names networks/two_layer.bp, as a user types it
    out = write_page(Path("networks/two_layer.bp"), tmp_path / "two_layer.html")
    tab = browser.new_page(viewport=VIEWPORT)
    tab.goto(out.as_uri())
    done = 0
    for name, presses in SCREENSHOTS.items():
        for _ in range(presses - done):
            tab.keyboard.press("ArrowRight")
        done = presses
        tab.screenshot(path=str(folder / name))
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Chain rule" in tab.locator("#status").inner_text()
    assert tab.locator("#graph .box.on").count() == 5  # w₀, z₀, a₀, a₂, L
    tab.close()


def test_a_clickers_page_down_and_page_up_reveal_and_go_back(page):
    """Presentation clickers send Page Down and Page Up: a piece forward and back, not a step."""
    page.keyboard.press("PageDown")
    page.keyboard.press("PageDown")
    after_two = page.locator("#status").inner_text()
    assert after_two.startswith("Step 1 of 2") and "2 of" in after_two
    page.keyboard.press("PageUp")
    assert "1 of" in page.locator("#status").inner_text()
