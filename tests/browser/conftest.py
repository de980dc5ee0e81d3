"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser)."""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test's ORM calls are still
    # plain synchronous calls, made before or after the browser acts. (Undone after the test.)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "README command (2) installs Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def screenshot(page, name: str, full_page: bool = True) -> None:
    """Refresh docs/<name>.png when asked (SCREENSHOTS=1), e.g. for the README."""
    if os.environ.get("SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=full_page)


def watch_for_csp_violations(page) -> list[str]:
    """What the page's Content-Security-Policy blocked (Chromium reports each as a console
    error) and any uncaught script error, collected as the test goes; assert it stays empty."""
    problems: list[str] = []

    def console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(f"{message.text} ({message.location['url']})")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return problems


def log_in(page, live_server, username: str, password: str = "demo") -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
