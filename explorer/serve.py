"""Several app servers behind one sticky proxy: ``python -m explorer.serve --replicas N --port 8501``.

Streamlit keeps each session's state (models, clicks, a running training) in the process
that serves it, and media, uploads and the websocket must reach that process (streamlit
issues #4173, #2936, #9976). So this command starts N ``streamlit run app.py`` servers on
internal loopback ports and Debian's HAProxy (``/usr/sbin/haproxy``, package ``haproxy``)
in front of them, with a config it writes (:func:`haproxy_config`):

- **session affinity by cookie**: the first response (the page) sets ``explorer_replica``
  to the replica that served it; the browser's websocket, media and upload requests carry
  it back to that replica. A new browser goes to the replica with the fewest connections;
- **health checks**: ``GET /_stcore/health`` every 2 s; a replica that fails twice is out,
  and a browser whose replica is gone is sent to a live one (``option redispatch``), which
  sets its cookie anew. Streamlit's page reconnects by itself; the app then says that the
  server changed (:mod:`explorer.ui.state.replica`);
- **websocket timeouts** long enough for a lesson: an idle connection is kept 3 hours
  (``timeout tunnel``; Streamlit's server pings every 30 s anyway).

Every replica reads and saves checkpoints in one folder (``EXPLORER_CHECKPOINT_DIR``,
default ``checkpoints/``) and has its own training queue of ``EXPLORER_MAX_TRAININGS``
slots (default: this machine's cores divided among the replicas, at least 1). Ctrl-C or
SIGTERM stops the proxy and every replica (SIGTERM, then SIGKILL after 10 s); a child
also gets SIGTERM if this process dies (``PR_SET_PDEATHSIG``). ``streamlit run app.py``
stays the single-process way to run the app.

The launch helpers (:func:`free_port`, :func:`start_streamlit`, :func:`wait_healthy`) are
also used by the benchmarks and tests.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HAPROXY = "/usr/sbin/haproxy"
AFFINITY_COOKIE = "explorer_replica"
#: An idle websocket (a student reading) is kept this long: longer than a lesson.
TUNNEL_TIMEOUT = "3h"
HEALTH_PATH = "/_stcore/health"
STOP_GRACE_S = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the OS's choice)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the parent dies (Linux prctl)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The ``streamlit run app.py`` command line of one server (headless, no file watcher)."""
    return [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
            f"--server.port={port}", f"--server.address={address}", "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none"]


def start_streamlit(port: int, log_path: Path, env: dict[str, str] | None = None,
                    address: str = "127.0.0.1") -> subprocess.Popen:
    """Start ``streamlit run app.py`` on ``address:port`` from the repository root, its
    output (unbuffered) in ``log_path``; ``env`` adds environment variables. The process
    gets SIGTERM if the caller dies. Does not wait: see :func:`wait_healthy`."""
    with open(log_path, "w") as log:
        return subprocess.Popen(streamlit_command(port, address), cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                                preexec_fn=_die_with_parent)


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout_s: float = 60.0,
                 what: str = "streamlit") -> None:
    """Wait until ``url``'s health endpoint answers 200.

    Raises:
        RuntimeError: ``proc`` exited, or no answer within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url + HEALTH_PATH, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} at {url} did not answer within {timeout_s:.0f} s")


@dataclass(frozen=True)
class Replica:
    """One app server behind the proxy: its name (the affinity cookie's value) and port."""

    name: str
    port: int


def haproxy_config(port: int, replicas: list[Replica], address: str = "0.0.0.0") -> str:
    """HAProxy's config: listen on ``address:port``, sticky sessions by cookie over
    ``replicas`` (on 127.0.0.1), health checks, redispatch, websocket timeouts (see the
    module docstring). Checked by ``haproxy -c`` in the tests."""
    servers = "\n".join(
        f"    server {r.name} 127.0.0.1:{r.port} check inter 2s fall 2 rise 2 cookie {r.name}" for r in replicas)
    return f"""# written by python -m explorer.serve: {len(replicas)} Streamlit replicas behind one sticky proxy
global
    maxconn 4096

defaults
    mode http
    option http-server-close
    timeout connect 5s
    timeout client 60s
    timeout server 120s
    timeout http-request 30s
    timeout http-keep-alive 10s
    # an upgraded websocket: idle for up to a lesson (Streamlit pings every 30 s)
    timeout tunnel {TUNNEL_TIMEOUT}
    timeout client-fin 10s
    timeout server-fin 10s
    # a request for a replica that is down goes to a live one (a new cookie comes back)
    option redispatch
    retries 2

frontend explorer
    bind {address}:{port}
    default_backend replicas

backend replicas
    balance leastconn
    # affinity: the replica that served the page serves the session's websocket, media, uploads
    cookie {AFFINITY_COOKIE} insert indirect nocache httponly attr "SameSite=Lax"
    option httpchk
    http-check send meth GET uri {HEALTH_PATH}
    http-check expect status 200
{servers}
"""


def check_haproxy_config(path: Path) -> str:
    """Run ``haproxy -c -f path``; returns its output.

    Raises:
        RuntimeError: HAProxy is missing or rejects the config (its message included).
    """
    if not Path(HAPROXY).exists():
        raise RuntimeError(f"{HAPROXY} is missing: install Debian's haproxy (apt-get install haproxy)")
    result = subprocess.run([HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"haproxy rejects {path}: {result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def replica_env(replicas: int, index: int) -> dict[str, str]:
    """Environment of replica ``index``: its name, training slots and OpenMP threads as
    this machine's cores shared among the replicas (unless set), the shared checkpoint folder."""
    cores = os.cpu_count() or 1
    share = str(max(1, cores // replicas))
    env = {"EXPLORER_REPLICA": f"r{index + 1}",
           "EXPLORER_CHECKPOINT_DIR": os.environ.get("EXPLORER_CHECKPOINT_DIR", str(REPO / "checkpoints"))}
    for name in ("EXPLORER_MAX_TRAININGS", "OMP_NUM_THREADS"):
        env[name] = os.environ.get(name, share)
    return env


def stop_all(procs: list[subprocess.Popen], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM every process still running, wait up to ``grace_s`` for all, then SIGKILL the rest."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace_s
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Stop(Exception):
    """Raised in the main thread by SIGTERM / SIGINT."""


def _raise_stop(signum, frame):
    raise Stop(signal.Signals(signum).name)


def serve(replicas: int, port: int, address: str = "0.0.0.0", run_dir: Path | None = None,
          start_timeout_s: float = 120.0) -> int:
    """Start the replicas and the proxy, then wait until a signal or the proxy ends; stop all.

    Args:
        replicas: app servers to start (>= 1).
        port: the proxy's port (the class's URL).
        address: the proxy's address (0.0.0.0: every interface, as ``streamlit run``).
        run_dir: where the config and the logs go (a new temporary folder if None).

    Returns:
        0 after a signal, 1 if something failed to start or the proxy exited by itself.
    """
    run_dir = Path(run_dir or tempfile.mkdtemp(prefix="explorer-serve-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    procs: list[subprocess.Popen] = []
    try:
        members = [Replica(f"r{k + 1}", free_port()) for k in range(replicas)]
        config = run_dir / "haproxy.cfg"
        config.write_text(haproxy_config(port, members, address))
        check_haproxy_config(config)
        for k, member in enumerate(members):
            procs.append(start_streamlit(member.port, run_dir / f"{member.name}.log", env=replica_env(replicas, k)))
        for member, proc in zip(members, procs):
            wait_healthy(f"http://127.0.0.1:{member.port}", proc, start_timeout_s, what=f"replica {member.name}")
        with open(run_dir / "haproxy.log", "w") as log:
            proxy = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                     preexec_fn=_die_with_parent)
        procs.append(proxy)
        shown = "127.0.0.1" if address in ("0.0.0.0", "::") else address
        wait_healthy(f"http://{shown}:{port}", proxy, 30, what="haproxy")
        print(f"{replicas} replica(s) behind http://{shown}:{port} (config and logs in {run_dir}); "
              "Ctrl-C stops them all", flush=True)
        for member, proc in zip(members, procs):
            print(f"  replica {member.name}: pid {proc.pid}, 127.0.0.1:{member.port}", flush=True)
        while proxy.poll() is None:
            time.sleep(0.5)
            for member, proc in zip(members, procs):
                if proc.returncode is None and proc.poll() is not None:
                    print(f"replica {member.name} (pid {proc.pid}) exited with code {proc.returncode}; "
                          "its browsers are sent to the others", flush=True)
        print(f"haproxy exited with code {proxy.returncode}; see {run_dir / 'haproxy.log'}", file=sys.stderr)
        return 1
    except Stop as stop:
        print(f"{stop}: stopping the proxy and {replicas} replica(s)", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig in previous:  # a second Ctrl-C does not cut the stopping short
            signal.signal(sig, signal.SIG_IGN)
        stop_all(procs[::-1])  # the proxy first: no new requests to replicas that stop
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="app servers behind the proxy")
    parser.add_argument("--port", type=int, default=8501, help="the proxy's port")
    parser.add_argument("--address", default="0.0.0.0", help="the proxy's address (127.0.0.1: this machine only)")
    parser.add_argument("--run-dir", type=Path, help="folder for the proxy's config and the logs")
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 64:
        parser.error("--replicas must be 1..64")
    return serve(args.replicas, args.port, args.address, args.run_dir)


if __name__ == "__main__":
    sys.exit(main())
