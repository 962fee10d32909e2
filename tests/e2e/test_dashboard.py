"""``make run`` -> ``/raid dashboard`` -> a link that opens on this machine: the real program
as a subprocess, its link followed by a plain HTTP client and by a real browser.

The browser is Debian's Chromium driven by Selenium through Debian's chromium-driver
(``/usr/bin/chromedriver``): nothing is downloaded at test time. Without them the browser
test is skipped on a developer's machine, and fails in CI (``CI`` set), where ``.ci/run``
installs them.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_console import Session, free_port

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: The screenshot the README shows; rewritten only with RAIDLINE_UPDATE_SCREENSHOT=1, so a
#: test run leaves the checkout as it found it.
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"

LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/dashboard/open\?t=\S+)")

SEED = (
    "/risk Vendor may slip the SSO delivery likelihood 4 impact 5 @bob",
    "/risk Budget cut in Q1 likelihood 4 impact 5 @bob",
    "/risk Key engineer leaves likelihood 2 impact 4 @ana",
    "/blocker Waiting on firewall change from NetOps @dana due friday",
    "/blocker Test data <script>alert(1)</script> missing",
    "/decision needed Pick the SSO vendor @cio by next friday",
    "/decision We use PostgreSQL in production",
    "/change Add CRM integration impact schedule +2 weeks, cost +8k @sponsor",
)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Session, str]]:
    """``raidline run`` with no chat platform (the console and the HTTP server), seeded, and
    the link its ``/raid dashboard`` printed."""
    port = free_port()
    session = Session(
        tmp_path / "raidline.db",
        command="run",
        env={"RAIDLINE_HTTP_HOST": "127.0.0.1", "RAIDLINE_HTTP_PORT": str(port)},
    )
    try:
        session.send("/raid list")  # answered once it is up
        session.until(lambda line: line.startswith("Open items"))
        for line in SEED:
            session.send(line)
        session.send("/raid dashboard")
        found = LINK_RE.search(session.until(lambda line: "/dashboard/open?t=" in line))
        assert found, session.seen
        yield session, found.group(1)
    finally:
        status, stderr = session.close()
        assert status == 0, stderr


def test_the_consoles_link_opens_the_dashboard_once(running: tuple[Session, str]) -> None:
    _session, link = running
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(link, timeout=10) as response:
        page = response.read().decode()
        assert response.status == 200
    assert 'likelihood=4&amp;impact=5">2</a>' in page
    assert "&lt;script&gt;" not in page or "<script>" not in page
    again = urllib.request.build_opener()  # a second browser with the same link
    with pytest.raises(urllib.error.HTTPError) as refused:
        again.open(link, timeout=10)
    assert refused.value.code == 403


def _browser_or_fail() -> object:
    """A headless Chromium driven through Debian's chromedriver; skip on a machine without
    them, fail in CI."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover - selenium is a dev dependency
        missing.append("selenium")
    if missing:
        message = f"no browser to test with: {', '.join(missing)} missing"
        if os.environ.get("CI"):
            pytest.fail(message + " (.ci/run installs chromium and chromium-driver)")
        pytest.skip(message + "; apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--window-size=960,1100", "--disable-dev-shm-usage"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    except Exception as exc:
        if os.environ.get("CI") or not shutil.which("chromium"):
            pytest.fail(f"the browser did not start: {exc}")
        pytest.skip(f"the browser did not start: {exc}")


def test_a_browser_follows_the_link_to_an_item_and_its_history(
    running: tuple[Session, str], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    _session, link = running
    driver = _browser_or_fail()
    try:
        driver.get(link)  # type: ignore[attr-defined]
        find = driver.find_element  # type: ignore[attr-defined]
        assert "Dashboard" in driver.title  # type: ignore[attr-defined]
        assert find(By.ID, "heat-4-5").text == "2"
        assert find(By.ID, "heat-2-4").text == "1"
        assert find(By.ID, "count-blockers").text == "2"
        shot = SCREENSHOT if os.environ.get("RAIDLINE_UPDATE_SCREENSHOT") == "1" else None
        shot = shot or tmp_path / "dashboard.png"
        driver.save_screenshot(str(shot))  # type: ignore[attr-defined]
        assert shot.read_bytes().startswith(b"\x89PNG")
        # the heat map's cell -> its risks -> one risk -> its history
        find(By.CSS_SELECTOR, "#heat-4-5 a").click()
        rows = driver.find_elements(By.CSS_SELECTOR, "#items tbody tr")  # type: ignore[attr-defined]
        assert sorted(r.text.split()[0] for r in rows) == ["R-1", "R-2"]
        find(By.LINK_TEXT, "R-1").click()
        assert "Vendor may slip the SSO delivery" in find(By.TAG_NAME, "h1").text
        history = find(By.ID, "history-list").text
        assert "@ana created" in history
        # user text stays text: the blocker's title shows its markup as typed
        driver.get(driver.current_url.rsplit("/items/", 1)[0] + "/items/B-2")  # type: ignore[attr-defined]
        assert "<script>alert(1)</script>" in find(By.TAG_NAME, "h1").text
        errors = [
            entry
            for entry in driver.get_log("browser")  # type: ignore[attr-defined]
            if entry["level"] == "SEVERE"
        ]
        assert errors == []
    finally:
        driver.quit()  # type: ignore[attr-defined]
