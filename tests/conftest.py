"""Shared fixtures: real MNIST, the shipped checkpoints, a running app server."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.helpers.paths import AE_CHECKPOINT, REPO, VAE_CHECKPOINT  # noqa: F401 (fixtures use them)
ARTIFACTS = REPO / "artifacts"
SERVER_LOG = ARTIFACTS / "streamlit-server.log"
#: How much of the end of the server log a failing browser test keeps.
SERVER_LOG_TAIL_BYTES = 256 * 1024


@pytest.fixture(scope="session")
def mnist():
    """Both real MNIST splits, loaded once."""
    from explorer.core.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def vae_checkpoint():
    from explorer.core.checkpoints import load_checkpoint

    return load_checkpoint(VAE_CHECKPOINT)


@pytest.fixture(scope="session")
def ae_checkpoint():
    from explorer.core.checkpoints import load_checkpoint

    return load_checkpoint(AE_CHECKPOINT)


@pytest.fixture
def app_test(monkeypatch):
    """Factory of ``AppTest``s of app.py (60 s timeout: the first run loads torch and MNIST).

    Works around an AppTest quirk: before every run it resets
    ``PagesManager.uses_pages_directory`` and, because a ``pages/`` folder sits beside
    app.py, re-enters the legacy pages-directory mode, in which a rerun executes the
    page file alone, without app.py (the sidebar and its model choice vanish). The real
    server leaves that mode for good on the first ``st.navigation`` call; this fixture
    does the same for AppTest.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    original_init = PagesManager.__init__

    def init_in_navigation_mode(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_in_navigation_mode)
    return lambda: AppTest.from_file(str(REPO / "app.py"), default_timeout=60)


@pytest.fixture
def home(app_test):
    """The app's default page (the Explorer) run once through AppTest, without an exception."""
    at = app_test()
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def open_page(app_test):
    """Opens a page through the router in a fresh AppTest run: ``open_page("pages/train.py")``
    returns the AppTest after the page's first run, without an exception."""
    def open_(path: str):
        at = app_test()
        at.run()
        at.switch_page(path).run()
        assert not at.exception, at.exception
        return at
    return open_


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where browser tests save screenshots for people to look at. A failure's evidence
    from an earlier local run is removed, so what is there belongs to this run."""
    ARTIFACTS.mkdir(exist_ok=True)
    for pattern in ("*-failure*.png", "*-server.log", "*-pages.txt", "*-browser.log"):
        for old in ARTIFACTS.glob(pattern):
            if old != SERVER_LOG:
                old.unlink()
    return ARTIFACTS


@pytest.fixture(scope="session")
def app_url(artifacts_dir):
    """`streamlit run app.py` on a free loopback port; yields its URL, stops it after.
    Its output goes to artifacts/streamlit-server.log."""
    from tests.helpers.browser import streamlit_server

    # the browser tests train two sessions at once: at least 2 slots on any machine
    slots = os.environ.get("EXPLORER_MAX_TRAININGS") or str(max(2, os.cpu_count() or 1))
    with streamlit_server(SERVER_LOG, env={"EXPLORER_MAX_TRAININGS": slots}) as (url, _):
        yield url


def _expect_timeout() -> None:
    """Waiting assertions (``expect``) default to 5 s, too short for an app that loads
    torch and MNIST on a loaded 2-core CI machine; a passing wait costs nothing extra."""
    try:
        from playwright.sync_api import expect
    except ImportError:  # browser tests skip without playwright/chromium
        return
    expect.set_options(timeout=30_000)


_expect_timeout()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launch options: Debian's chromium, headless, no network chatter."""
    from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS

    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A tall viewport: Streamlit scrolls inside its own container, not the page."""
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1600}}


# --- evidence from failing browser tests ----------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (``item.report_setup``, ``report_call``,
    ``report_teardown``) so fixtures can tell, at teardown, whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# Streamlit's own connection and run state, and the start of what the page shows
PAGE_STATE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const attrs = app ? Object.entries(app.dataset).map(([k, v]) => k + '=' + v).join(' ') : 'no stApp element';
  return attrs + '\\n' + document.body.innerText.slice(0, 3000);
}"""


#: What each failed browser test's pages showed, printed at the end of the run.
FAILURE_SUMMARIES: list[str] = []
SUMMARY_CHARS = 800


def pytest_terminal_summary(terminalreporter):
    """At the end of the output (all CI keeps): each failed browser test's pages, their URL,
    Streamlit's run state and the start of their text, and the browser's last events."""
    if FAILURE_SUMMARIES:
        terminalreporter.section("what the failed browser tests' pages showed")
        for summary in FAILURE_SUMMARIES:
            terminalreporter.write_line(summary)


def _failed(item) -> bool:
    return any(getattr(getattr(item, f"report_{when}", None), "failed", False) for when in ("setup", "call"))


def _artifact_stem(item) -> str:
    """The test's name as a file name: ``test_x[chromium]`` -> ``test_x-chromium``."""
    return re.sub(r"[^\w.-]+", "-", item.name).strip("-")


@pytest.fixture
def browser_events() -> list[str]:
    """What the browser reported during the test, one line per event: uncaught page
    errors, console errors, crashes, closed websockets (a dead Streamlit connection)."""
    return []


@pytest.fixture
def new_context(new_context, browser_events):
    """pytest-playwright's context factory (``context`` and ``page`` use it too), with
    every page of the context watched for :func:`browser_events`. Pages are numbered in
    the order they open (``page-1``, ...), as the failure screenshots are."""
    start = time.monotonic()
    opened = []

    def record(label: str, what: str) -> None:
        browser_events.append(f"{time.monotonic() - start:8.2f}s {label} {what}")

    def watch(page) -> None:
        opened.append(page)
        label = f"page-{len(opened)}"
        page.on("pageerror", lambda error: record(label, f"uncaught error: {error}"))
        page.on("console", lambda msg: record(label, f"console {msg.type}: {msg.text}")
                if msg.type in ("error", "warning") else None)
        page.on("crash", lambda _: record(label, "renderer crashed"))
        page.on("websocket", lambda ws: ws.on("close", lambda _: record(label, f"websocket closed: {ws.url}")))

    def make(**kwargs):
        context = new_context(**kwargs)
        context.on("page", watch)
        return context

    return make


@pytest.fixture
def failure_artifacts(request, browser, new_context, browser_events, artifacts_dir):
    """For browser tests (modules list it in ``pytestmark``): if the test fails, save
    ``artifacts/<test>-failure.png`` (``-failure-<k>.png`` when several pages are open)
    for every page of every open browser context, what each page shows and Streamlit's
    connection/run state (``<test>-pages.txt``), the browser's errors and closed
    websockets (``<test>-browser.log``), and the tail of the server's log
    (``<test>-server.log``).

    It depends on pytest-playwright's ``new_context`` (which ``context`` and ``page``
    use, and which tests use for extra sessions), so it runs its teardown while those
    contexts are still open: tests must create contexts with ``new_context``, not close
    them themselves.
    """
    yield
    if not _failed(request.node):
        return
    stem = _artifact_stem(request.node)
    pages = [page for context in browser.contexts for page in context.pages if not page.is_closed()]
    states = []
    for k, page in enumerate(pages, start=1):
        name = f"{stem}-failure.png" if len(pages) == 1 else f"{stem}-failure-{k}.png"
        try:
            page.screenshot(path=str(artifacts_dir / name), timeout=15_000)
            state = page.evaluate(PAGE_STATE_JS)
        except Exception as exc:  # noqa: BLE001 - evidence is best effort; keep the real failure
            state = f"{type(exc).__name__}: {exc}"
        states.append(f"--- {name}: {page.url}\n{state}\n")
    (artifacts_dir / f"{stem}-pages.txt").write_text("\n".join(states))
    (artifacts_dir / f"{stem}-browser.log").write_text("".join(f"{line}\n" for line in browser_events))
    # where CI keeps no files, the end of its output still says what the pages showed
    FAILURE_SUMMARIES.append("\n".join([f"{request.node.nodeid}:", *(" ".join(s.split())[:SUMMARY_CHARS] for s in states),
                                         "browser events (last 8):", *browser_events[-8:]]))
    if SERVER_LOG.exists():
        with open(SERVER_LOG, "rb") as log:
            log.seek(max(0, SERVER_LOG.stat().st_size - SERVER_LOG_TAIL_BYTES))
            with open(artifacts_dir / f"{stem}-server.log", "wb") as out:
                shutil.copyfileobj(log, out)
