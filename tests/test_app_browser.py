"""The workshop page in a real browser: Debian's headless Chromium (``make browser`` installs it) driven by
playwright against ``python -m sim.app`` served on a free localhost port, offline.

Each test starts from a fresh page (a new browser session: its own model). Waits are on what the page
shows, never on fixed sleeps; the what-if runs get a minute because the first one starts the worker
processes.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is installed by make test (the dev extra)")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    if os.environ.get("KANKEI_REQUIRE_BROWSER"):  # make test sets it: there, a missing browser is a failure
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make browser`", pytrace=False)
    pytest.skip("no Chromium: `make browser` installs Debian's (make test does)", allow_module_level=True)

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("browser")  # one server, one browser: the tests share them on one worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sim.app", "--port", str(port), "--host", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert f"http://127.0.0.1:{port}/" in first, first  # the address is printed first
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"the page did not start: {proc.stdout.read()}")
    yield f"http://127.0.0.1:{port}/"
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


class Page:
    """A fresh page, with the console errors, failed requests and requests leaving localhost it saw."""

    def __init__(self, browser: object, url: str) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:http://127.0.0.1"))
                     else self.outside.append(r.url))
        self.page.goto(url)
        self.page.wait_for_selector(".week-counter", timeout=60_000)
        self.page.wait_for_selector(".ladder-chart img, img.ladder-chart", timeout=60_000)

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def slider_value(self, lever: str) -> float:
        return float(self.page.get_attribute(f".lever-{lever} [role=slider]", "aria-valuenow") or "nan")

    def wait_sliders(self, values: dict[str, float]) -> None:
        """Wait until every lever's slider shows ``values`` (the page patches them one by one)."""
        for lever, value in values.items():
            shown = f"{value:g}"
            # null-safe: the page re-renders its sliders when the scenario or region changes
            try:
                self.page.wait_for_function(f"(document.querySelector('.lever-{lever} [role=slider]') || "
                                            f"{{getAttribute: () => null}}).getAttribute('aria-valuenow') "
                                            f"=== '{shown}'", timeout=30_000)
            except playwright.TimeoutError:
                shown_now = {k: self.slider_value(k) for k in values}
                pytest.fail(f"slider {lever}: expected {shown}; the sliders show {shown_now}, expected {values}")

    def wait_text(self, selector: str, text: str) -> None:
        self.page.wait_for_function(f"(document.querySelector({selector!r}) || {{innerText: ''}})"
                                    f".innerText.includes({text!r})", timeout=30_000)

    def ladder_src(self) -> str:
        return self.page.get_attribute(".ladder-chart img, img.ladder-chart", "src") or ""

    def choose(self, picker: str, text: str) -> None:
        self.page.click(f".picker-{picker}")
        self.page.locator(".v-menu__content .v-list-item", has_text=text).first.click()


@pytest.fixture
def page(browser: object, server: str) -> Iterator[Page]:
    p = Page(browser, server)
    yield p
    p.page.close()


def test_the_page_loads_offline_with_no_console_error_in_japanese_then_english(page: Page) -> None:
    assert page.page.title() == "関係人口ワークショップ"
    assert "関係案内人（人）" in page.text(".lever-guides")
    assert page.text(".week-counter").startswith("週 0")
    assert "This website runs on" not in page.page.inner_text("body")  # no English banner on the Japanese page
    page.page.click(".lang-en")
    page.page.wait_for_function("document.title === 'Relationship population workshop'")
    page.page.wait_for_function("document.querySelector('.lever-guides').innerText.includes('guides (FTE)')")
    assert page.text(".week-counter").startswith("week 0")
    assert "registry members" in page.text(".figures")
    assert not page.errors, page.errors
    assert not page.outside, page.outside  # nothing fetched from outside (no CDN)


def test_step_advances_the_counter_and_changes_the_ladder_chart(page: Page) -> None:
    before = page.ladder_src()
    for _ in range(3):
        page.page.click(".btn-step")
    page.page.wait_for_function("document.querySelector('.week-counter').innerText.startsWith('週 3')")
    page.page.wait_for_function(f"(document.querySelector('.ladder-chart img') || "
                                f"document.querySelector('img.ladder-chart')).src !== {before!r}")
    page.page.click(".btn-play")
    page.page.wait_for_function("parseInt(document.querySelector('.week-counter').innerText.slice(2)) >= 8",
                                timeout=30_000)
    page.page.click(".btn-play")  # pause
    page.page.click(".btn-reset")
    page.page.wait_for_function("document.querySelector('.week-counter').innerText.startsWith('週 0')")
    assert not page.errors, page.errors


def test_choosing_a_scenario_sets_the_sliders_to_its_values(page: Page) -> None:
    from sim import workshop as ws

    def expected(scenario: str, focus: ws.Focus) -> dict[str, float]:
        return {k.split(".")[1]: v for k, v in
                ws.lever_values(ws.compose(ws.base_overrides(scenario, focus)), focus).items()}

    base, high = expected("baseline", ws.Focus("one", 0)), expected("guides_high", ws.Focus("one", 0))
    online, remote = expected("online_only", ws.Focus("one", 0)), expected("online_only", ws.Focus("two_towns", 1))
    assert high["guides"] != base["guides"] and online["offline_programs_per_year"] != base["offline_programs_per_year"]
    assert remote["guides"] != online["guides"] and remote["funding_years"] != online["funding_years"]
    page.wait_sliders(base)
    page.choose("scenario", "(guides_high)")
    page.wait_sliders(high)
    page.wait_text(".in-effect", "guides_high")
    page.choose("scenario", "(online_only)")
    page.wait_sliders(online)
    page.choose("region", "遠い町")  # the remote town's own row (a row overrides what the scenario changes)
    page.wait_sliders(remote)
    assert not page.errors, page.errors


def test_moving_a_slider_changes_the_model_and_the_what_if_panel_shows_two_bands(page: Page) -> None:
    target = int(page.slider_value("guides")) + 4
    page.page.focus(".lever-guides [role=slider]")
    for _ in range(4):
        page.page.keyboard.press("ArrowRight")
    page.wait_text(".in-effect", f"policy.guides={target}")  # the model now runs with it
    assert page.slider_value("guides") == target
    page.page.click(".btn-whatif")
    page.page.wait_for_selector(".whatif-chart", timeout=120_000)
    diffs = page.page.locator(".whatif-diff").all_inner_texts()
    assert len(diffs) == 3 and all(re.search(r"[+-]?\d", d) for d in diffs), diffs
    assert any(d.startswith("登録会員") for d in diffs)
    assert not page.errors, page.errors


def test_a_screenshot_of_the_page_is_not_blank(page: Page) -> None:
    from PIL import Image, ImageStat

    shot = Image.open(io.BytesIO(page.page.screenshot(full_page=True))).convert("L")
    assert shot.size[0] >= 1000
    stat = ImageStat.Stat(shot)
    assert stat.stddev[0] > 20  # a blank (or all-one-colour) page has none
    dark = sum(shot.histogram()[:128]) / (shot.size[0] * shot.size[1])
    assert 0.01 < dark < 0.6  # text, dots and bars, on a light page
