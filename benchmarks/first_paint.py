"""Time from navigation to the first chart drawn on /dashboard/, in a fresh headless Chromium
(empty cache, a new profile each run), and the bytes it fetched, under the demo's server
(scripts/demo: runserver on SQLite, DEBUG) and under gunicorn (DEBUG off, as in production).

.venv/bin/python benchmarks/first_paint.py           # 5 runs each; see --help

Both servers share one SQLite database seeded as the demo seeds it (seed_demo's defaults),
and one collectstatic copy (STATIC_ROOT in a temporary folder). The time is measured in
the page (performance.now() when the first .chart holds plotly's SVG, from the navigation's
start); the bytes are what went over the wire (headers and bodies, compressed as sent).
Target: the first chart within 1 s (issue #16).
"""

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv/bin/python")
CHROMIUM = "/usr/bin/chromium"
# Installed before any page script: the moment plotly's first SVG lands in a chart.
FIRST_CHART = """
window.__firstChart = null;
new MutationObserver((changes, observer) => {
  if (document.querySelector(".chart .main-svg")) {
    window.__firstChart = performance.now();
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""
# Where the time goes: the page's last byte, the static files' last byte, and
# DOMContentLoaded (when the deferred scripts, plotly.js first, have run).
STAGES = """[
  performance.getEntriesByType("navigation")[0].responseEnd,
  Math.max(...performance.getEntriesByType("resource").map((entry) => entry.responseEnd)),
  performance.getEntriesByType("navigation")[0].domContentLoadedEventStart,
]"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--username", default="demo-viewer")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int):
    """A server process, until it answers /healthz; stopped afterwards."""
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"{command[0]} did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)


@dataclass
class Visit:
    first_chart: float  # ms from the navigation's start
    transferred: int  # bytes
    requests: int
    html: float  # the page's last byte
    static: float  # the last static file's last byte
    scripts_run: float  # DOMContentLoaded: the deferred scripts (plotly.js) evaluated


def visit(playwright, base: str, username: str) -> Visit:
    """One fresh browser: log in (in a context that is thrown away), then open /dashboard/ in
    a new context with only the session cookie. The first chart's time in ms, the bytes
    transferred and the requests made until the page's load event."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
    )
    try:
        login = browser.new_context()
        page = login.new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "demo")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/")
        state = login.storage_state()
        login.close()
        context = browser.new_context(storage_state=state, viewport={"width": 1280, "height": 900})
        context.add_init_script(FIRST_CHART)
        page = context.new_page()
        finished = []
        page.on("requestfinished", lambda request: finished.append(request))
        page.goto(f"{base}/dashboard/", wait_until="load")
        page.wait_for_function("window.__firstChart !== null", timeout=60_000)
        first_chart = page.evaluate("window.__firstChart")
        stages = page.evaluate(STAGES)
        sizes = [request.sizes() for request in finished]
        transferred = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
        context.close()
        return Visit(first_chart, transferred, len(finished), *stages)
    finally:
        browser.close()


def warm(playwright, base: str, username: str) -> None:
    """Log in once and open /dashboard/ a few times, so that every worker has built the
    charts (each gunicorn worker keeps its own cache here, without Redis): the figures are
    of a server that has been running, as a visitor meets it."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
    )
    try:
        page = browser.new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "demo")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/")
        for _ in range(8):
            assert page.request.get(f"{base}/dashboard/").ok
    finally:
        browser.close()


def measure(name: str, base: str, args: argparse.Namespace) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        warm(playwright, base, args.username)
        runs = [visit(playwright, base, args.username) for _ in range(args.runs)]
    times = [run.first_chart for run in runs]

    def median(stage: str) -> float:
        return statistics.median(getattr(run, stage) for run in runs)

    print(
        f"{name:22} first chart: median {statistics.median(times):5.0f} ms, "
        f"max {max(times):5.0f} ms (target <= 1000 ms); "
        f"{runs[-1].transferred / 1024:5.0f} KB transferred in {runs[-1].requests} requests\n"
        f"{'':22} (medians: page {median('html'):.0f} ms, static files {median('static'):.0f} ms, "
        f"scripts run {median('scripts_run'):.0f} ms)"
    )


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="first-paint-") as folder:
        base_env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DEBUG")
        }
        base_env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=f"sqlite:///{folder}/demo.sqlite3",
            STATIC_ROOT=f"{folder}/static",
            LOG_LEVEL="WARNING",
        )
        demo_env = {**base_env, "DEBUG": "true", "STATIC_COLLECTED": "true"}
        gunicorn_env = {
            **base_env,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECURE_SSL_REDIRECT": "false",  # plain http on localhost (no TLS proxy here)
        }
        run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], demo_env)
        run([PYTHON, "manage.py", "seed_demo"], demo_env)
        run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"], gunicorn_env)
        print(
            "/dashboard/ as demo-viewer on seed_demo's defaults (SQLite), fresh Chromium each run"
        )

        port = free_port()
        command = [
            PYTHON,
            "manage.py",
            "runserver",
            "--nostatic",
            "--noreload",
            f"127.0.0.1:{port}",
        ]
        with serving(command, demo_env, port) as base:
            measure("demo (runserver)", base, args)

        port = free_port()
        command = [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ]
        with serving(command, gunicorn_env, port) as base:
            measure("gunicorn (2 workers)", base, args)


if __name__ == "__main__":
    sys.exit(main())
