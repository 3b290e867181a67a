"""explorer.ui.state.replica: what a browser is told when the process that served it is gone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.ui.state import replica


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(replica, "STATE_DIR", tmp_path)
    monkeypatch.setattr(replica, "NAME", "r2")
    return tmp_path


def _ended_process() -> dict:
    """The record a replica that has since ended would have left (a real, finished process)."""
    code = "import json; from explorer.ui.state import replica; print(json.dumps(replica._me()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"EXPLORER_REPLICA": "r1"}, cwd=Path(__file__).resolve().parents[2])
    return json.loads(out.stdout)


def test_a_browser_from_an_ended_replica_is_told_and_its_training_is_lost(state_dir):
    old = _ended_process()
    assert old["replica"] == "r1" and old["pid"] != replica.PID
    replica._write("browsers", "tok", old)
    replica._write("jobs", "tok", {**old, "label": "VAE, z of 2, 50 epochs"})
    notice = replica.arrival_notice("tok", known_here=False)
    assert notice.startswith("Reconnected to r2: r1, which served this browser before, stopped.")
    assert "Your training (VAE, z of 2, 50 epochs) was running on r1 and is lost: it did not finish." in notice
    assert not (state_dir / "jobs" / "tok.json").exists()  # reported once
    assert replica._read("browsers", "tok")["pid"] == replica.PID  # now served here
    assert replica.arrival_notice("tok", known_here=False) is None  # a later session: nothing moved


def test_no_notice_for_a_browser_this_process_served_or_a_live_one(state_dir):
    assert replica.arrival_notice("new", known_here=False) is None  # never seen anywhere
    assert replica.arrival_notice("new", known_here=True) is None
    live = {**replica._me(), "replica": "r1", "pid": 1}  # pid 1 runs, but started at another time
    replica._write("browsers", "other", {**live, "start": replica._process_start(1)})
    assert replica.arrival_notice("other", known_here=False) is None  # still running: not "stopped"


def test_a_finished_job_drops_its_record_and_a_running_one_keeps_it(state_dir):
    replica.note_job("tok", "AE", done=False)
    assert replica._read("jobs", "tok")["label"] == "AE"
    replica.note_job("tok", "AE", done=True)
    assert replica._read("jobs", "tok") is None
