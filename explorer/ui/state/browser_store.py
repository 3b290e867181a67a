"""Models trained (or uploaded) in a browser survive a page reload in that browser.

A reload makes a new Streamlit session with empty session state. So the server keeps,
per browser, the session models and the training job in :data:`STORE`, keyed by a
random token the browser keeps in a cookie:

- The first session of a browser draws a token (``secrets.token_urlsafe``, 128 bits)
  and sets the cookie ``explorer_browser`` with a few lines of JavaScript
  (``st.html(..., unsafe_allow_javascript=True)``: Streamlit can read cookies,
  ``st.context.cookies``, but not set them). A later session (a reload, a new tab)
  reads it from ``st.context.cookies`` and gets that browser's models and job back.
- Why a cookie and not a query parameter: the token must not travel with links. The
  Compare page puts its view into the URL for sharing; a token there would hand the
  models (and the running job) to whoever opens a shared link.
- Privacy trade-off: anyone using the same browser profile within :data:`COOKIE_SECONDS`
  (a shared classroom computer) sees that browser's models after a reload, and any
  script on the page can read the cookie (it is set by script, so it cannot be
  HttpOnly). It holds no personal data, is sent only to this server (``SameSite=Strict``),
  and the models stay in this server's memory only (lost on restart, evicted after
  :data:`TTL_SECONDS` without a visit or when more than :data:`MAX_BROWSERS` browsers
  are stored; at most :data:`MAX_MODELS_PER_BROWSER` models each).
- A browser without cookies (or a blocked script) just loses its models on reload, as before.

The training job is handed over too: the new session shows it and joins the sessions the
:mod:`explorer.ui.jobs.session_watch` watchdog checks, so a reload does not stop a training.
So is the sidebar's model choice: a reload shows the model the browser was looking at
(a run finished before the reload stays chosen), not the default one.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st

from explorer.core.checkpoints import Checkpoint
from explorer.ui.state import replica, session
from explorer.ui.jobs.session_watch import WATCHDOG, current_session_id

COOKIE = "explorer_browser"
COOKIE_SECONDS = 12 * 3600
TTL_SECONDS = 12 * 3600
MAX_BROWSERS = 100
MAX_MODELS_PER_BROWSER = 8
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass
class BrowserRecord:
    """What one browser keeps across reloads."""

    models: OrderedDict = field(default_factory=OrderedDict)  # name -> Checkpoint, oldest first
    job: object | None = None  # its latest TrainingJob
    choice: str | None = None  # its latest sidebar model choice (a registry.model_options() value)
    last_seen: float = field(default_factory=time.monotonic)


class BrowserStore:
    """Server-wide, thread-safe: browser token -> :class:`BrowserRecord` (bounded, see module doc)."""

    def __init__(self, max_browsers: int = MAX_BROWSERS, max_models: int = MAX_MODELS_PER_BROWSER,
                 ttl: float = TTL_SECONDS) -> None:
        self.max_browsers, self.max_models, self.ttl = max_browsers, max_models, ttl
        self._lock = threading.Lock()
        self._records: OrderedDict[str, BrowserRecord] = OrderedDict()

    def _record(self, token: str) -> BrowserRecord:
        now = time.monotonic()
        for old in [t for t, r in self._records.items() if now - r.last_seen > self.ttl]:
            del self._records[old]
        record = self._records.pop(token, None) or BrowserRecord()
        record.last_seen = now
        self._records[token] = record  # most recent last
        while len(self._records) > self.max_browsers:
            self._records.popitem(last=False)
        return record

    def remember_model(self, token: str, name: str, checkpoint: Checkpoint) -> None:
        """Keep ``checkpoint`` as ``name`` for this browser (the oldest goes beyond the limit)."""
        with self._lock:
            models = self._record(token).models
            models[name] = checkpoint
            models.move_to_end(name)
            while len(models) > self.max_models:
                models.popitem(last=False)

    def remember_job(self, token: str, job) -> None:
        """Keep ``job`` as this browser's training job."""
        with self._lock:
            self._record(token).job = job

    def remember_choice(self, token: str, choice: str) -> None:
        """Keep ``choice`` as this browser's sidebar model choice."""
        with self._lock:
            self._record(token).choice = choice

    def recall_choice(self, token: str) -> str | None:
        """This browser's latest sidebar model choice (None if it made none)."""
        with self._lock:
            return self._record(token).choice

    def recall(self, token: str) -> tuple[dict[str, Checkpoint], object | None]:
        """This browser's models (name -> checkpoint, oldest first) and latest job."""
        with self._lock:
            record = self._record(token)
            return dict(record.models), record.job

    def knows(self, token: str) -> bool:
        """True if this server holds a record of ``token`` (its browser was here before)."""
        with self._lock:
            return token in self._records

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


#: The server's store.
STORE = BrowserStore()


def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no request context (scripts, some tests)
        return None
    return value if isinstance(value, str) and _TOKEN.fullmatch(value) else None


def browser_token() -> str:
    """This browser's token: from the session, else its cookie, else a new one."""
    token = st.session_state.get(session.BROWSER_TOKEN_KEY)
    if token is None:
        token = _cookie_token() or secrets.token_urlsafe(16)
        st.session_state[session.BROWSER_TOKEN_KEY] = token
    return token


def remember_session_model(name: str, checkpoint: Checkpoint) -> None:
    """Keep a session model for this browser's later sessions (called by
    :func:`explorer.ui.state.registry.add_session_model`)."""
    STORE.remember_model(browser_token(), name, checkpoint)


def remember_choice(choice: str) -> None:
    """Keep the sidebar's model choice for this browser's later sessions (called by
    :func:`explorer.ui.state.registry.select_model` on every run)."""
    STORE.remember_choice(browser_token(), choice)


def sync_browser(add_model: Callable[[str, Checkpoint], object]) -> None:
    """Once per session: take back this browser's models, job and model choice (a
    reload; the choice is applied by :func:`explorer.ui.state.registry.select_model`); on every
    run: keep the session's job in the store and under the watchdog (and its record for
    :mod:`explorer.ui.state.replica`), show the notice of a browser that came from a stopped
    server process, and set the cookie when the browser did not send it. app.py calls it
    after the session defaults.

    Args:
        add_model: offers a model in this session without storing it again
            (``registry.add_session_model(name, checkpoint, remember=False)``).
    """
    token = browser_token()
    job_key = session.TRAINING_JOB_KEY
    if not st.session_state[session.BROWSER_RESTORED_KEY]:
        st.session_state[session.BROWSER_RESTORED_KEY] = True
        # a token from the cookie that this process does not know: the browser was served by another one
        known_here = STORE.knows(token) or _cookie_token() != token
        st.session_state[session.REPLICA_NOTICE_KEY] = replica.arrival_notice(token, known_here)
        models, job = STORE.recall(token)
        present = st.session_state[session.SESSION_MODELS_KEY]
        for name, checkpoint in models.items():
            if name not in present:
                add_model(name, checkpoint)
        if job is not None and st.session_state[job_key] is None:
            st.session_state[job_key] = job
        choice = STORE.recall_choice(token)
        if choice is not None and st.session_state.get(session.PENDING_CHOICE_KEY) is None:
            st.session_state[session.PENDING_CHOICE_KEY] = choice
    job = st.session_state[job_key]
    if job is not None:
        config = job.model_config
        replica.note_job(token, f"{config.kind.upper()}, z of {config.latent_dim}, {job.train_config.epochs} epochs",
                         job.done)
        _, stored = STORE.recall(token)
        if stored is not job:
            STORE.remember_job(token, job)
        owner = current_session_id()
        if owner is not None and not job.done and owner not in WATCHDOG.sessions(job):
            WATCHDOG.watch(job, owner)  # this session joins the job's sessions
    if notice := st.session_state[session.REPLICA_NOTICE_KEY]:
        st.sidebar.warning(notice, icon=":material/sync_problem:")
    if _cookie_token() != token:
        with st.sidebar:
            st.html(f"<script>document.cookie = '{COOKIE}={token}; path=/; max-age={COOKIE_SECONDS}; "
                    "SameSite=Strict';</script>", unsafe_allow_javascript=True)
