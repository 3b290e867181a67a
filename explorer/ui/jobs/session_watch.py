"""Stop a training whose browser session has ended (tab closed, browser gone).

Streamlit keeps a session "active" while its browser's websocket is connected
(``Runtime.is_active_session``, documented as safe from any thread); a closed tab
disconnects it at once, and a network blip reconnects the same session within seconds.
A watchdog thread checks every job's sessions each :data:`CHECK_SECONDS`; a job all of
whose sessions have been inactive for :data:`GRACE_SECONDS` in a row is stopped
(``job.stop("its browser session ended")``), so a closed tab's training ends within
about ``GRACE_SECONDS + CHECK_SECONDS`` plus one optimiser step. A page reload in the
same browser (or a second tab) makes a new session, which joins the job's sessions
(:func:`explorer.ui.state.browser_store.sync_browser` calls :meth:`Watchdog.watch`), so a
reload does not stop it, and neither does closing one of two tabs that show it.

Any object with ``done`` and ``stop(reason)`` can be watched (a
:class:`explorer.ui.jobs.training_job.TrainingJob`; a page that keeps its job elsewhere than
the Train page's session key calls ``WATCHDOG.watch(job, current_session_id())``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

#: Seconds an owner session may be gone before its job is stopped (environment variable
#: ``EXPLORER_SESSION_GRACE_S``): long enough for a reload or a reconnect.
GRACE_SECONDS = float(os.environ.get("EXPLORER_SESSION_GRACE_S", "10"))
#: Seconds between checks.
CHECK_SECONDS = 1.0
STOP_REASON = "its browser session ended"


def session_alive(session_id: str) -> bool:
    """True while the browser session ``session_id`` is connected to this server.

    Outside a Streamlit server (AppTest, scripts) there are no browser sessions to lose:
    always True.
    """
    from streamlit import runtime

    if not runtime.exists():
        return True
    return runtime.get_instance().is_active_session(session_id)


def current_session_id() -> str | None:
    """The id of the browser session this script run belongs to (None outside a run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


class Watchdog:
    """Stops watched jobs all of whose sessions have been gone for ``grace`` seconds.

    Args:
        is_alive: session id -> still connected (default :func:`session_alive`).
        grace: seconds an owner may be gone before its job is stopped.
        check: seconds between checks of the background thread (started on the first
            :meth:`watch`).
    """

    def __init__(self, is_alive: Callable[[str], bool] = session_alive, grace: float = GRACE_SECONDS,
                 check: float = CHECK_SECONDS) -> None:
        self._is_alive, self.grace, self.check = is_alive, grace, check
        self._lock = threading.Lock()
        self._owners: dict[object, list] = {}  # job -> [session ids, monotonic time all were first seen gone]
        self._thread: threading.Thread | None = None

    def watch(self, job, session_id: str) -> None:
        """Add ``session_id`` to the sessions of ``job``; the job is stopped once all of
        them have been gone for the grace period."""
        with self._lock:
            entry = self._owners.setdefault(job, [set(), None])
            entry[0] = entry[0] | {session_id}
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="training-watchdog", daemon=True)
                self._thread.start()

    def sessions(self, job) -> frozenset[str]:
        """The session ids watching over ``job`` (empty if not watched)."""
        with self._lock:
            entry = self._owners.get(job)
            return frozenset(entry[0]) if entry else frozenset()

    def check_once(self, now: float | None = None) -> list:
        """One round of checks; returns the jobs it stopped."""
        now = time.monotonic() if now is None else now
        stopped = []
        with self._lock:
            entries = list(self._owners.items())
        for job, entry in entries:
            if job.done:
                with self._lock:
                    self._owners.pop(job, None)
                continue
            if any(self._is_alive(sid) for sid in entry[0]):
                entry[1] = None
                continue
            if entry[1] is None:
                entry[1] = now
            if now - entry[1] >= self.grace:
                job.stop(STOP_REASON)
                stopped.append(job)
                with self._lock:
                    self._owners.pop(job, None)
        return stopped

    def _loop(self) -> None:
        while True:
            time.sleep(self.check)
            try:
                self.check_once()
            except Exception:  # noqa: BLE001 - the watchdog must outlive one bad check
                pass


#: The server's watchdog.
WATCHDOG = Watchdog()
