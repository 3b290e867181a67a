"""Replicas behind the sticky proxy (``python -m explorer.serve``), driven over Streamlit's
own protocol (``bench.st_client``, no browser): the proxy's config passes ``haproxy -c``;
the load generator's counts of actions and runs for a known script; a student's state
survives 20 actions on 2 replicas; killing a replica moves its students to a live one,
which says so and reports their training as lost, while the other replica's students
see no error and no saved checkpoint is lost; stopping the command ends every child.

One ``explorer.serve --replicas 2`` process serves the module's tests in file order:
the kill test is the last but one, the stop test the last.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import pytest

from bench.class_load import listening_ports, run_class, server_pids
from bench.st_client import SessionError, StreamlitSession
from explorer import serve
from explorer.ui.state import registry

pytestmark = pytest.mark.skipif(not Path(serve.HAPROXY).exists(),
                                reason=f"needs Debian's haproxy at {serve.HAPROXY} (apt-get install haproxy)")

REPO = Path(__file__).resolve().parents[2]


def _run(coroutine):
    """``asyncio.run`` in a thread of its own: after the browser tests, pytest-playwright's
    event loop is running in this thread, and asyncio.run refuses to start beside it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``python -m explorer.serve --replicas 2`` on a free loopback port; yields
    (url, process, {replica name: pid}, run dir). Stopped at the end if a test did not."""
    run_dir = tmp_path_factory.mktemp("serve")
    port = serve.free_port()
    out = open(run_dir / "serve.out", "w")
    env = {**os.environ, "EXPLORER_STATE_DIR": str(run_dir / "state"), "EXPLORER_MAX_TRAININGS": "1",
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "explorer.serve", "--replicas", "2", "--port", str(port),
                             "--address", "127.0.0.1", "--run-dir", str(run_dir)], cwd=REPO, stdout=out,
                            stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    replicas = {}
    while time.monotonic() < deadline and proc.poll() is None:
        text = (run_dir / "serve.out").read_text()
        replicas = {m[0]: int(m[1]) for m in re.findall(r"replica (r\d): pid (\d+)", text)}
        if len(replicas) == 2:
            break
        time.sleep(0.2)
    if len(replicas) != 2:
        proc.kill()
        pytest.fail(f"explorer.serve did not start: {(run_dir / 'serve.out').read_text()}")
    yield url, proc, replicas, run_dir
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    out.close()


def test_proxy_config_passes_haproxy_check(tmp_path):
    members = [serve.Replica("r1", 18001), serve.Replica("r2", 18002), serve.Replica("r3", 18003)]
    config = tmp_path / "haproxy.cfg"
    config.write_text(serve.haproxy_config(8501, members))
    serve.check_haproxy_config(config)  # raises with haproxy's message if it rejects it
    text = config.read_text()
    assert f"cookie {serve.AFFINITY_COOKIE} insert" in text
    assert f"uri {serve.HEALTH_PATH}" in text and "option redispatch" in text
    assert all(f"server {m.name} 127.0.0.1:{m.port} check" in text and f"cookie {m.name}" in text for m in members)
    config.write_text(text.replace("balance leastconn", "balance no-such-algorithm"))
    with pytest.raises(RuntimeError, match="rejects"):
        serve.check_haproxy_config(config)


def _args(**overrides) -> Namespace:
    base = dict(students=2, minutes=5.0, think_s=0.0, ramp_s=0.0, probe_rounds=0, train_every=0, train_epochs=1,
                train_images=1000, train_wait_s=60.0, run_timeout_s=120.0, reconnect=False, pid=None, seed=0,
                passes=1, warm_up=False)
    return Namespace(**{**base, **overrides})


def test_generator_counts_the_scripted_actions(served):
    url, _, replicas, _ = served
    assert server_pids(url) == sorted(replicas.values())  # the processes behind the proxy
    report = _run(run_class(url, _args()))
    counts = {name: a["n"] for name, a in report["actions"].items()}
    # per student and pass: the page, 5 clicks, 2 grid sizes, Compare, a prior sample, 3 lesson steps
    assert counts == {"open_explorer": 2, "click": 10, "grid": 4, "open_compare": 2, "prior": 2, "lesson": 6}
    assert report["runs"] == 26
    assert report["errors_total"] == 0, report["errors"]
    assert report["server_pids"] == sorted(replicas.values()) and report["server_cpu_s"] > 0
    assert report["rss_mib"]["end"] > 0


async def _on_each_replica(url: str) -> dict[str, StreamlitSession]:
    """Open sessions until one is on each replica (new browsers go to the least busy one)."""
    by_replica, spare = {}, []
    for _ in range(6):
        session = StreamlitSession(url)
        await session.open()
        name = session.cookies.get(serve.AFFINITY_COOKIE)
        if name in by_replica:
            spare.append(session)
        else:
            by_replica[name] = session
        if len(by_replica) == 2:
            break
    for session in spare:
        await session.close()
    return by_replica


def test_a_students_state_survives_20_actions_on_two_replicas(served):
    url = served[0]

    async def scenario():
        sessions = await _on_each_replica(url)
        assert set(sessions) == {"r1", "r2"}, sessions.keys()
        try:
            for step in range(10):  # 20 actions per student, the two students interleaved
                for k, session in enumerate(sessions.values()):
                    first_id = session.session_id
                    n = 8 + (step + k) % 10
                    await session.set_widget("grid_n", double_array_value=[n])
                    index = 100 * step + 7 * k
                    await session.component_event(
                        "map_marks", "click",
                        {"points": [{"curve_number": 0, "point_index": index, "x": 0.0, "y": 0.0, "customdata": [index]}]})
                    # the click panel shows this click, and the grid keeps the size set an action earlier
                    assert any(f"**Test digit {index}**" in t for t in session.texts()), session.texts()
                    assert any(t.startswith(f"{n} x {n} decoder means") for t in session.texts()), session.texts()
                    assert session.session_id == first_id and not session.exceptions
        finally:
            for session in sessions.values():
                await session.close()

    _run(scenario())


def _checkpoint_files() -> dict[str, int]:
    return {p.name: p.stat().st_size for p in registry.CHECKPOINT_DIR.iterdir() if p.is_file()}


def test_killed_replica_moves_its_students_and_reports_their_training_lost(served):
    url, _, replicas, _ = served
    files_before = _checkpoint_files()

    async def scenario():
        sessions = await _on_each_replica(url)
        assert set(sessions) == {"r1", "r2"}
        victim, survivor = sessions["r1"], sessions["r2"]
        try:
            await victim.rerun()  # a second session run: the app's cookie (its browser token) is sent from now on
            await victim.reconnect()
            assert victim.cookies[serve.AFFINITY_COOKIE] == "r1"
            await victim.rerun(page="train")
            victim.stage_widget("train_epochs", double_value=50.0)
            await victim.press("start_training")
            assert any("Epoch" in t or "Starting" in t or "line" in t for t in victim.texts()), victim.texts()

            os.kill(replicas["r1"], signal.SIGKILL)
            with pytest.raises(SessionError):
                for _ in range(50):  # the live view's reruns fail once the connection is gone
                    await victim.rerun()
                    await asyncio.sleep(0.1)
            for attempt in range(20):  # the page reconnects by itself, through the proxy
                try:
                    await victim.reconnect()
                    break
                except SessionError:
                    await asyncio.sleep(1)
            assert victim.cookies[serve.AFFINITY_COOKIE] == "r2"
            notice = " ".join(victim.texts())
            assert "Reconnected to r2: r1, which served this browser before, stopped." in notice, victim.texts()
            assert "is lost: it did not finish" in notice
            assert "Training finished" not in notice

            survivor_id = survivor.session_id
            for index in (1, 2, 3):
                await survivor.component_event(
                    "map_marks", "click",
                    {"points": [{"curve_number": 0, "point_index": index, "x": 0.0, "y": 0.0, "customdata": [index]}]})
                assert any(f"**Test digit {index}**" in t for t in survivor.texts())
            assert survivor.session_id == survivor_id and not survivor.closed_unexpectedly
            assert not survivor.exceptions and not any("Reconnected" in t for t in survivor.texts())
        finally:
            for session in sessions.values():
                await session.close()

    _run(scenario())
    assert _checkpoint_files() == files_before  # nothing saved was lost or damaged


def test_stopping_serve_ends_every_child(served):
    url, proc, replicas, _ = served
    children = [pid for pid in os.listdir("/proc") if pid.isdigit() and _alive(int(pid))
                and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(proc.pid)]
    children = [int(pid) for pid in children]
    assert replicas["r2"] in children and len(children) >= 2  # the live replica and haproxy (r1 was killed)
    assert any(listening_ports(pid) == [int(url.rsplit(":", 1)[1])] for pid in children)  # haproxy
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert proc.wait(30) == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)]
