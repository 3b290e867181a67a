"""Which server process serves a browser, and what the browser lost when that process stopped.

Behind ``python -m explorer.serve`` a browser stays on one replica (a cookie), and its
session state, the models it trained and its running training live in that replica's
memory. When the replica dies, the proxy sends the browser to a live one; Streamlit's
page reconnects by itself and gets a new, empty session there. This module lets the new
replica tell the student what happened:

- every session's first run records, per browser token (``explorer_browser`` cookie,
  :mod:`explorer.ui.state.browser_store`), which process served it:
  ``<state dir>/browsers/<token>.json`` with the replica's name, host and pid;
- a training job is recorded while it runs (``<state dir>/jobs/<token>.json``) and the
  record is removed when a run of that browser's session sees it done;
- a session whose token this process does not know, and whose record names another
  process, was moved: :func:`arrival_notice` says so, and says that its training is lost
  (not finished) when a job record of a process that is gone is left.

The state dir (``EXPLORER_STATE_DIR``, default ``.cache/replicas`` in the repository) must
be shared by the replicas, as the checkpoint folder is. A process counts as gone when it
ran on this host and its pid is no longer alive (or is another process now); on another
host (Kubernetes pods) it cannot be checked from here, and the notice says so.
Saved checkpoints are files in the shared checkpoint folder: nothing here touches them.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from explorer.core.files import atomic_write

STATE_DIR = Path(os.environ.get("EXPLORER_STATE_DIR") or Path(__file__).resolve().parents[3] / ".cache" / "replicas")
#: This process: the replica's name (set by ``explorer.serve``), host and pid.
NAME = os.environ.get("EXPLORER_REPLICA") or "the server"
HOST = socket.gethostname()
PID = os.getpid()


def _process_start(pid: int) -> str | None:
    """The start time (clock ticks since boot) of ``pid``, or None if it is not running."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


START = _process_start(PID)


def _me() -> dict:
    return {"replica": NAME, "host": HOST, "pid": PID, "start": START}


def _path(kind: str, token: str) -> Path:
    return STATE_DIR / kind / f"{token}.json"


def _read(kind: str, token: str) -> dict | None:
    try:
        value = json.loads(_path(kind, token).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write(kind: str, token: str, value: dict) -> None:
    path = _path(kind, token)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(value).encode())
    except OSError:
        pass  # a read-only or full state dir only costs the notice


def _is_me(record: dict) -> bool:
    return record.get("host") == HOST and record.get("pid") == PID and record.get("start") == START


def _gone(record: dict) -> bool | None:
    """True when the recorded process has ended, False when it runs, None when it ran on another host."""
    if record.get("host") != HOST:
        return None
    pid = record.get("pid")
    return not isinstance(pid, int) or _process_start(pid) != record.get("start")


def note_job(token: str, label: str, done: bool) -> None:
    """Keep (``done`` False) or drop (True) the record of this browser's running training."""
    if done:
        record = _read("jobs", token)
        if record is not None and _is_me(record):
            _path("jobs", token).unlink(missing_ok=True)
    elif (record := _read("jobs", token)) is None or not _is_me(record):
        _write("jobs", token, {**_me(), "label": label})


def arrival_notice(token: str, known_here: bool) -> str | None:
    """On a session's first run: record that this process serves ``token`` and return a
    message if the browser came from another process that served it before (None if not).

    Args:
        token: the browser's token.
        known_here: this process already knows the token (a reload, a second tab).
    """
    before = _read("browsers", token)
    _write("browsers", token, _me())
    if known_here or before is None or _is_me(before):
        return None
    gone = _gone(before)
    old = before.get("replica") or "the server"
    if gone is False:  # still running: the proxy moved the browser for another reason
        return None
    lines = [f"Reconnected to {NAME}: {old}, which served this browser before, "
             + ("stopped." if gone else "cannot be reached from here.")
             + " Checkpoints saved into the checkpoint folder are all here; models trained but not saved, "
               "and this page's clicks and settings, were in that server's memory and are gone."]
    job = _read("jobs", token)
    if job is not None and not _is_me(job):
        job_gone = _gone(job)
        if job_gone is not False:
            lines.append(f"Your training ({job.get('label', 'a model')}) was running on {job.get('replica', old)} "
                         "and is lost: it did not finish. Start it again on the Train page.")
            _path("jobs", token).unlink(missing_ok=True)
    return " ".join(lines)
