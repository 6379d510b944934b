"""The console in a real browser: Debian's chromium driven through Playwright.

One ``eligibility serve`` (SQLite in a temporary data folder, one worker) serves every test of
this folder; an intake key and an auditor key are made with the command line, as an operator
would. Each test gets a fresh browser context (no cookies shared between tests) whose pages:

- may reach the service only: every request to another host is counted and aborted, and the
  count is asserted to be 0 on every page (the console must work on an offline intranet);
- are photographed: every page the browser loads gets a screenshot, kept under
  ``test-results/browser/`` (git-ignored), named after the test and the order of visit.

The browser is the system's chromium (``ELIGIBILITY_TEST_CHROMIUM``, else ``chromium`` on
``PATH``); Playwright's own browser download is never used. Without chromium the tests are
skipped with the reason, except under CI (``CI`` set), where they fail: ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.helpers import ROOT, wait_ready

# Never let Playwright fetch a browser of its own (the machines cannot, and must not need to).
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CLI = [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]
SCREENSHOTS = ROOT / "test-results" / "browser"
DESKTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium_path() -> str:
    """The system chromium, or skip (fail under CI) saying why there is none."""
    wanted = os.environ.get("ELIGIBILITY_TEST_CHROMIUM") or "chromium"
    found = shutil.which(wanted)
    if found is None:
        reason = (
            f"no chromium found ({wanted!r}): install Debian's `chromium` "
            "(apt-get install chromium fonts-noto-cjk) or set ELIGIBILITY_TEST_CHROMIUM"
        )
        if os.environ.get("CI"):
            pytest.fail(reason + " — under CI the browser tests must run", pytrace=False)
        pytest.skip(reason)
    return found


@dataclass(frozen=True)
class Service:
    """A running ``eligibility serve`` and the keys made for it."""

    base: str
    data: Path
    intake_key: str
    auditor_key: str
    env: dict[str, str]

    @property
    def netloc(self) -> str:
        return urlsplit(self.base).netloc

    def url(self, path: str) -> str:
        return self.base + path

    def make_key(self, role: str, name: str) -> str:
        return make_key(self.env, role, name)


def serve_env(data: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "ELIGIBILITY_DATA_DIR": str(data),
        "ELIGIBILITY_SECRET": "",
        "ELIGIBILITY_DB_URL": "",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def make_key(env: dict[str, str], role: str, name: str) -> str:
    made = subprocess.run(
        [*CLI, "keys", "create", "--role", role, "--name", name],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip()


@pytest.fixture(scope="session")
def chromium() -> str:
    return chromium_path()


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[Service]:
    """``eligibility serve`` on loopback with an intake and an auditor key."""
    data = tmp_path_factory.mktemp("console-data")
    log = data.parent / "serve.log"
    env = serve_env(data)
    port = free_port()
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(server, base, log)
            yield Service(
                base=base,
                data=data,
                intake_key=make_key(env, "intake", "desk-1"),
                auditor_key=make_key(env, "auditor", "inspector-1"),
                env=env,
            )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)


@pytest.fixture(scope="session")
def playwright_browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """This run's screenshot folder: test-results/browser/<UTC time of the run>."""
    folder = SCREENSHOTS / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Browsing:
    """One browser context on the service: its page, what left the host, what was loaded."""

    page: Any
    service: Service
    folder: Path
    test: str
    outside: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
    unshot: list[str] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)
    _shot_of_load: int = 0

    def goto(self, path: str, name: str | None = None) -> Any:
        """Open a console path; the page is checked and photographed."""
        response = self.page.goto(self.service.url(path))
        self.snap(name or path)
        return response

    def submit(self, action: Callable[[], None], name: str) -> None:
        """Do something that loads a new page (a click, Enter in a form), then check it."""
        with self.page.expect_navigation():
            action()
        self.snap(name)

    def snap(self, name: str) -> Path:
        """Screenshot the page as it is (full length), after asserting nothing left the host."""
        self.page.wait_for_load_state("load")
        self.assert_offline()
        slug = re.sub(r"[^0-9A-Za-z_.-]+", "-", name).strip("-") or "page"
        path = self.folder / f"{self.test}-{len(self.shots) + 1:02d}-{slug}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        self._shot_of_load = len(self.loads)
        return path

    def assert_offline(self) -> None:
        assert self.outside == [], f"requests left the host on {self.page.url}: {self.outside}"

    def _loaded(self, url: str) -> None:
        # A page loaded while the previous one was never photographed: remember it (teardown
        # fails); no browser call here, the handler runs inside Playwright's dispatch.
        if len(self.loads) > self._shot_of_load:
            self.unshot.append(self.loads[-1])
        self.loads.append(url)


def open_browsing(
    browser: Any,
    service: Service,
    folder: Path,
    test: str,
    viewport: dict[str, int] | None = None,
) -> tuple[Any, Browsing]:
    context = browser.new_context(
        viewport=viewport or DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    browsing = Browsing(page=page, service=service, folder=folder, test=test)

    def gate(route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != service.netloc:
            browsing.outside.append(url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", gate)

    # Requests no route sees (a web socket, a request of a worker) are counted too.
    def seen(url: str) -> None:
        parts = urlsplit(url)
        outside = parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != service.netloc
        if outside and url not in browsing.outside:
            browsing.outside.append(url)

    page.on("websocket", lambda socket: seen(socket.url))
    page.on("request", lambda request: seen(request.url))
    page.on("load", lambda loaded: browsing._loaded(loaded.url))
    return context, browsing


def close_browsing(context: Any, browsing: Browsing) -> None:
    try:
        if not browsing.page.is_closed():
            browsing.snap("end")  # the page as the test left it (a failure's evidence too)
        browsing.assert_offline()
        assert browsing.unshot == [], f"pages loaded but never photographed: {browsing.unshot}"
    finally:
        context.close()


@pytest.fixture
def browsing(
    playwright_browser: Any,
    service: Service,
    screenshot_dir: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Browsing]:
    """A fresh context (no session) at 1366×768 on the service."""
    test = re.sub(r"[^0-9A-Za-z_]+", "_", request.node.name)
    context, browsing = open_browsing(playwright_browser, service, screenshot_dir, test)
    try:
        yield browsing
    finally:
        close_browsing(context, browsing)


@pytest.fixture
def new_browsing(
    playwright_browser: Any,
    service: Service,
    screenshot_dir: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Browsing]]:
    """Opens more contexts in one test (a second user, another viewport); all are checked."""
    opened: list[tuple[Any, Browsing]] = []
    test = re.sub(r"[^0-9A-Za-z_]+", "_", request.node.name)

    def open_one(label: str, viewport: dict[str, int] | None = None) -> Browsing:
        context, browsing = open_browsing(
            playwright_browser, service, screenshot_dir, f"{test}-{label}", viewport
        )
        opened.append((context, browsing))
        return browsing

    try:
        yield open_one
    finally:
        for context, browsing in opened:
            close_browsing(context, browsing)
