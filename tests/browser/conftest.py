"""Real-browser tests: Playwright for Python drives Debian's Chromium against pytest-django's live server.

One browser for the package, a fresh context (cookies, storage) per test. Chromium comes from Debian
(`apt-get install chromium`), never from `playwright install`: when /usr/bin/chromium is missing, the
setup installs it (as root with apt-get) and skips the browser tests only if that fails.

Every page's console is recorded: a Content-Security-Policy violation, an uncaught script error or a
page resource that fails to load fails the test. When a test fails, a screenshot of its page, with
the console lines and the URL, is saved under ARTIFACTS (printed in the failure and in the summary).
"""

import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.urls import get_resolver
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS_DIR") or REPO / ".browser-artifacts")
TIMEOUT_MS = 15_000
SAVED: list[Path] = []
USED: list[str] = []  # the tests that opened a page


def _install_chromium() -> str | None:
    """Make sure Debian's Chromium is there; the reason it is not, if it cannot be installed."""
    if CHROMIUM.exists():
        return None
    apt_get = shutil.which("apt-get")
    if apt_get is None or os.geteuid() != 0:
        return f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get: apt-get install chromium)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([apt_get, "update", "-qq"], [apt_get, "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)  # noqa: S603
        if done.returncode != 0:
            return f"{CHROMIUM} is missing and `{' '.join(command[1:])}` failed: {done.stderr.strip()[-300:]}"
    return None if CHROMIUM.exists() else f"apt-get installed chromium but {CHROMIUM} is still missing"


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    reason = _install_chromium()
    if reason:
        pytest.skip(reason)
    # The first request would import every view (the assistant's SDK is slow to import): do it now,
    # so no page waits seconds for its document.
    with warnings.catch_warnings():  # the SDK's own deprecation notices, not this project's
        warnings.simplefilter("ignore", DeprecationWarning)
        get_resolver().url_patterns  # noqa: B018
    # Between its calls, Playwright's sync API marks its event loop as running in this thread, so
    # Django would take the test's ORM calls (and the live server's database flush) for async code.
    # The tests are synchronous: allow it, for this package only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],  # root, in a container
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


CSP_VIOLATION = re.compile(r"Content Security Policy|Content-Security-Policy", re.IGNORECASE)
PAGE_RESOURCES = {"document", "script", "stylesheet", "image", "font"}


@dataclass
class Console:
    """What the page said and what went wrong while it loaded: CSP violations, script errors, failed loads."""

    lines: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_loads: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        where = _path(message.location.get("url") or "")
        self.lines.append(f"[{message.type}] {message.text}" + (f" ({where})" if where else ""))
        if message.type == "error" and CSP_VIOLATION.search(message.text):
            self.csp_violations.append(message.text)

    def on_page_error(self, error: Exception) -> None:
        self.lines.append(f"[pageerror] {error}")
        self.page_errors.append(str(error))

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.lines.append(f"[response] {response.status} {response.request.resource_type} {_path(response.url)}")
        if response.status >= 400 and response.request.resource_type in PAGE_RESOURCES:
            self.failed_loads.append(f"{response.status} {response.request.resource_type} {_path(response.url)}")

    def on_request_failed(self, request: Request) -> None:
        line = f"{request.failure} {request.resource_type} {_path(request.url)}"
        self.lines.append(f"[requestfailed] {line}")
        # A load cut short by the next navigation (net::ERR_ABORTED) is no fault of the page.
        if request.resource_type in PAGE_RESOURCES and "ERR_ABORTED" not in (request.failure or ""):
            self.failed_loads.append(line)

    def problems(self) -> list[str]:
        return (
            [f"CSP violation: {text}" for text in self.csp_violations]
            + [f"script error: {text}" for text in self.page_errors]
            + [f"failed to load: {text}" for text in self.failed_loads]
        )

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, "the browser reported:\n  " + "\n  ".join(problems)


def _path(url: str) -> str:
    """The URL without its query string (where a token could be)."""
    return url.split("?", 1)[0]


@pytest.fixture
def console() -> Console:
    return Console()


@contextmanager
def open_page(browser: Browser, base_url: str, console: Console) -> Iterator[Page]:
    """A page in a fresh browser context, relative URLs against `base_url`, its console recorded."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    tab = context.new_page()
    USED.append(base_url)
    tab.on("console", console.on_console)
    tab.on("pageerror", console.on_page_error)
    tab.on("response", console.on_response)
    tab.on("requestfailed", console.on_request_failed)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, live_server, console: Console) -> Iterator[Page]:
    """A page against the live server."""
    with open_page(browser, live_server.url, console) as tab:
        yield tab
    # A violation after the test's own check (or in a test that forgot it) still fails.
    assert not console.csp_violations, f"CSP violations: {console.csp_violations}"


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1])[:150]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """On a failure, save the page's screenshot, URL and console under ARTIFACTS and say where."""
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.failed and report.when in ("setup", "call") and page is not None and not page.is_closed():
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = _artifact_name(item.nodeid)
        screenshot, console_log = ARTIFACTS / f"{name}.png", ARTIFACTS / f"{name}.console.txt"
        saved = []
        try:
            page.screenshot(path=screenshot, full_page=True)
            saved.append(screenshot)
        except Exception as exc:  # the page may have crashed: keep the console anyway
            report.sections.append(("browser artifacts", f"no screenshot: {exc}"))
        console = item.funcargs.get("console")
        log = [f"url: {_path(page.url)}", *(console.lines if console else [])]
        console_log.write_text("\n".join(log) + "\n")
        saved.append(console_log)
        SAVED.extend(saved)
        report.sections.append(("browser artifacts", "\n".join(f"saved {path}" for path in saved)))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SAVED:
        terminalreporter.write_sep("-", f"browser screenshots of failures in {ARTIFACTS}")
        for path in SAVED:
            terminalreporter.write_line(str(path))
    elif USED:
        terminalreporter.write_line(
            f"Browser tests: {len(USED)} pages, no failure (screenshots would be in {ARTIFACTS})"
        )
