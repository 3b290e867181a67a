"""A class on the app, without a browser: scripted students over Streamlit's own protocol.

Usage::

    python -m bench.class_load --url http://127.0.0.1:8501 --students 30 --minutes 3

Each student is one :class:`bench.st_client.StreamlitSession` (what a browser tab is to
the server, no page drawn) and follows the script below, again and again until the
minutes are over (or ``--passes`` times), with a think time between actions
(``--think-s``, uniform between half and one and a half times it). Students arrive spread over ``--ramp-s``. The script:

1. ``open_explorer``: load the app (first pass) or go back to the Explorer page;
2. ``click`` x5: a click on a random test digit of the map (the map's ``click`` event, as
   the page sends it); checked: the click panel then names that test digit;
3. ``grid`` x2: a new manifold grid size n (the grid's fragment reruns);
4. ``open_compare``: the Compare AE and VAE page;
5. ``prior``: "Sample from the prior";
6. ``lesson`` x3: start the guided lesson, then Next twice;
7. one student in ten (numbers 0, 10, 20, ...), on its first pass: ``open_train`` and
   ``train_start`` (a short VAE: ``--train-epochs`` epochs of ``--train-images`` images),
   then it stays on the Train page, whose live view reruns every 2 s as in a browser,
   until the training has ended (``--train-wait-s`` at most).

Before the class, one student alone goes through the script ``--probe-rounds`` times
(no training) and the server's CPU time is read around each of its actions: that is the
CPU-ms per action (median over its rounds). Before it, every server process is warmed up: one session
opens the Explorer and Compare pages on its own port. The server is the ``streamlit`` process listening on
the URL's port, or, behind a proxy started by ``python -m explorer.serve``, the
``streamlit`` processes beside the proxy (``--pid`` names them instead). CPU seconds come
from ``/proc/<pid>/stat``, RSS from ``/proc/<pid>/status``.

Prints one JSON report: per action the count, errors, p50/p95/max latency in ms (from
the request to the end of the run it started, the ``script_finished`` message) and the
CPU-ms of the probe; the server's CPU seconds and RSS (before, after every student's
first page, at the end, peak); MiB per session (RSS growth over the students' first
pages, divided by their number); trainings started/finished/lost; the errors (an
exception shown by the app, a run that did not end in ``--run-timeout-s``, a lost
connection, a click whose panel did not show its digit). A student whose connection is
lost reconnects (``--reconnect``, on by default), as Streamlit's page does, and counts a
``reconnect`` action. Bounded: at most ``--students`` (<= 500) sessions, ``--minutes``
(<= 60) of class, loopback URLs only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from bench.st_client import SessionError, StreamlitSession, check_loopback

MAX_STUDENTS = 500
MAX_MINUTES = 60
ACTIONS = ("open_explorer", "click", "grid", "open_compare", "prior", "lesson", "open_train", "train_start",
           "reconnect")
GRID_SIZES = (8, 12, 16, 20, 25)
TEST_IMAGES = 10_000
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the server's processes ------------------------------------------------------------

def _listening_sockets():
    """(port, socket inode) of every listening TCP socket on this machine (/proc/net)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                yield int(fields[1].rsplit(":", 1)[1], 16), fields[9]


def _listening_inodes(port: int) -> set[str]:
    return {inode for p, inode in _listening_sockets() if p == port}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def port_owner(port: int) -> int | None:
    """The pid of the process listening on ``port`` (from /proc), or None."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    targets = {f"socket:[{i}]" for i in inodes}
    for pid in _pids():
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(fd) in targets:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def server_pids(url: str) -> list[int]:
    """The app's server processes behind ``url``: the ``streamlit`` process listening on
    its port, or, when a proxy listens there, the ``streamlit`` processes that share the
    proxy's parent (``python -m explorer.serve``)."""
    port = urllib.parse.urlsplit(url).port or 80
    owner = port_owner(port)
    if owner is None:
        return []
    if "streamlit" in _cmdline(owner):
        return [owner]
    parent = _ppid(owner)
    return sorted(pid for pid in _pids() if _ppid(pid) == parent and pid != owner and "streamlit" in _cmdline(pid))


def listening_ports(pid: int) -> list[int]:
    """The TCP ports ``pid`` listens on (from /proc)."""
    try:
        inodes = {os.readlink(fd)[len("socket:["):-1] for fd in Path(f"/proc/{pid}/fd").iterdir()
                  if os.readlink(fd).startswith("socket:[")}
    except OSError:
        return []
    ports = {p for p, inode in _listening_sockets() if inode in inodes}
    return sorted(ports)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (all its threads); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_mib(pid: int) -> dict[str, float]:
    """``rss`` and ``peak`` (VmRSS, VmHWM) of ``pid`` in MiB; empty once it is gone."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out["rss" if name == "VmRSS" else "peak"] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return out


class Servers:
    """CPU and memory of a fixed set of server processes."""

    def __init__(self, pids: list[int]):
        self.pids = pids

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def rss(self) -> float:
        return round(sum(memory_mib(pid).get("rss", 0.0) for pid in self.pids), 1)

    def memory(self) -> dict[str, dict[str, float]]:
        return {str(pid): memory_mib(pid) for pid in self.pids}


# --- the scripted student --------------------------------------------------------------

@dataclass
class Record:
    """Everything the students did: latencies (s) per action, errors, trainings."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    errors: dict[str, int] = field(default_factory=lambda: {a: 0 for a in ACTIONS})
    messages: list[str] = field(default_factory=list)
    cpu_ms: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    runs: int = 0
    auto_runs: int = 0
    trainings: dict[str, int] = field(default_factory=lambda: {"started": 0, "finished": 0, "lost": 0,
                                                                "other_end": 0, "unfinished": 0})

    def error(self, student: int, action: str, text: str) -> None:
        self.errors[action] += 1
        if len(self.messages) < 50:
            self.messages.append(f"student {student} {action}: {text}")


class Student:
    """One scripted student (see the module docstring).

    Args:
        number: the student's number (every tenth one trains).
        url: the app's URL.
        record: where its results go.
        think_s: mean pause between actions.
        servers: when given, the server CPU around each action goes to ``record.cpu_ms``
            (only meaningful for a student alone on the server).
    """

    def __init__(self, number: int, url: str, record: Record, think_s: float, args, servers: Servers | None = None,
                 rng: random.Random | None = None):
        self.number = number
        self.session = StreamlitSession(url, run_timeout_s=args.run_timeout_s)
        self.record = record
        self.think_s = think_s
        self.args = args
        self.servers = servers
        self.rng = rng or random.Random(number)
        self.opened = False
        self.trained = False
        self.grid_n = 0

    async def think(self) -> None:
        if self.think_s > 0:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think_s)

    async def act(self, name: str, coro_factory, check=None) -> bool:
        """Run one action, record its latency and errors; True if it went through."""
        cpu0 = self.servers.cpu() if self.servers else 0.0
        try:
            result = await coro_factory()
        except (SessionError, KeyError) as exc:
            self.record.error(self.number, name, f"{type(exc).__name__}: {exc}")
            if self.session.closed_unexpectedly and self.args.reconnect:
                await self.reconnect()
            return False
        if self.servers:
            self.record.cpu_ms[name].append((self.servers.cpu() - cpu0) * 1000)
        self.record.runs += 1
        self.record.latencies[name].append(result.seconds)
        if result.exceptions:
            self.record.error(self.number, name, "; ".join(result.exceptions)[:300])
            return False
        if check is not None:
            problem = check()
            if problem:
                self.record.error(self.number, name, problem)
                return False
        return True

    async def reconnect(self) -> None:
        """The page's reconnect after a lost connection: a new connection, the page again."""
        for attempt in range(5):
            await asyncio.sleep(1 + attempt)
            try:
                result = await self.session.reconnect()
            except SessionError as exc:
                self.record.error(self.number, "reconnect", str(exc))
                continue
            self.record.latencies["reconnect"].append(result.seconds)
            return

    async def click(self) -> None:
        index = self.rng.randrange(TEST_IMAGES)
        point = {"curve_number": 0, "point_number": index, "point_index": index, "x": 0.0, "y": 0.0,
                 "customdata": [index]}

        def shown() -> str | None:
            if any(f"Test digit {index}**" in text for text in self.session.texts()):
                return None
            return f"the click panel does not show test digit {index}"

        await self.act("click", lambda: self.session.component_event("map_marks", "click", {"points": [point]}),
                       check=shown)

    async def grid(self) -> None:
        self.grid_n = self.rng.choice([n for n in GRID_SIZES if n != self.grid_n])
        await self.act("grid", lambda: self.session.set_widget("grid_n", double_array_value=[self.grid_n]))

    async def train(self) -> None:
        self.trained = True
        if not await self.act("open_train", lambda: self.session.rerun(page="train")):
            return
        await self.think()

        async def start():
            self.session.stage_widget("train_epochs", double_value=float(self.args.train_epochs))
            self.session.stage_widget("train_subset", double_value=float(self.args.train_images))
            return await self.session.press("start_training")

        if not await self.act("train_start", start):
            return
        self.record.trainings["started"] += 1
        deadline = time.monotonic() + self.args.train_wait_s
        while time.monotonic() < deadline:
            texts = " ".join(self.session.texts())
            if "Training finished" in texts:
                self.record.trainings["finished"] += 1
                return
            if "lost" in texts.lower() and "training" in texts.lower():
                self.record.trainings["lost"] += 1
                return
            if any(kind == "alert" and proto.format in (1, 3) for kind, proto in self.session.elements):
                self.record.trainings["other_end"] += 1  # an error or warning: stopped, diverged
                return
            await asyncio.sleep(1.0)
            if self.session.closed_unexpectedly:
                if self.args.reconnect:
                    await self.reconnect()
                else:
                    break
        self.record.trainings["unfinished"] += 1

    async def one_pass(self) -> None:
        s = self.session
        if not self.opened:
            self.opened = True
            if not await self.act("open_explorer", s.open):
                return
        elif not await self.act("open_explorer", lambda: s.rerun(page="")):
            return
        for _ in range(5):
            await self.think()
            await self.click()
        for _ in range(2):
            await self.think()
            await self.grid()
        await self.think()
        if not await self.act("open_compare", lambda: s.rerun(page="compare")):
            return
        await self.think()
        await self.act("prior", lambda: s.press("cmp_prior_draw"))
        if "cmp_lesson_start" not in s.widgets:  # a lesson from an earlier pass: end it first
            await self.act("lesson", lambda: s.press("cmp_lesson_end"))
        for key in ("cmp_lesson_start", "cmp_lesson_next", "cmp_lesson_next"):
            await self.think()
            await self.act("lesson", lambda key=key: s.press(key))
        if self.args.train_every and self.number % self.args.train_every == 0 and not self.trained:
            await self.think()
            await self.train()

    async def run(self, until: float, first_page: asyncio.Event | None = None, passes: int = 0) -> None:
        try:
            done = 0
            while time.monotonic() < until and (not passes or done < passes):
                await self.one_pass()
                done += 1
                if first_page is not None and not first_page.is_set():
                    first_page.set()
                if self.session._ws is None:
                    break
                await self.think()
        finally:
            if first_page is not None:
                first_page.set()
            self.record.auto_runs += self.session.auto_runs
            await self.session.close()


# --- the class -------------------------------------------------------------------------

def _summary(values_s: list[float]) -> dict:
    if not values_s:
        return {"n": 0}
    ms = sorted(v * 1000 for v in values_s)
    p95 = ms[min(len(ms) - 1, max(0, round(0.95 * len(ms)) - 1))]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1), "max_ms": round(ms[-1], 1)}


async def probe(url: str, servers: Servers, args) -> dict[str, float]:
    """One student alone, ``args.probe_rounds`` passes, no think time: CPU-ms per action (median)."""
    record = Record()
    student = Student(-1, url, record, 0.0, args, servers=servers, rng=random.Random(12345))
    student.trained = True  # the probe trains nothing
    try:
        for round_ in range(args.probe_rounds):
            await student.one_pass()
    finally:
        await student.session.close()
    out = {name: round(statistics.median(v), 1) for name, v in record.cpu_ms.items() if v}
    if record.messages:
        out["errors"] = record.messages[:10]
    return out


async def warm_up(pids: list[int], args) -> list[str]:
    """Open the Explorer and Compare pages once on every server process, straight on its
    own port (past any proxy), so that each has loaded its models and caches before the
    memory per session is measured. Returns the errors."""
    problems = []
    for pid in pids:
        for port in listening_ports(pid):
            session = StreamlitSession(f"http://127.0.0.1:{port}", run_timeout_s=args.run_timeout_s,
                                       follow_auto_reruns=False)
            try:
                await session.open()
                await session.rerun(page="compare")
            except SessionError as exc:
                problems.append(f"warm-up of pid {pid} port {port}: {exc}")
            finally:
                await session.close()
    return problems


async def run_class(url: str, args) -> dict:
    """The whole benchmark (see the module docstring); returns the report."""
    pids = args.pid or server_pids(url)
    servers = Servers(pids)
    report: dict = {"url": url, "students": args.students, "minutes": args.minutes, "think_s": args.think_s,
                    "ramp_s": args.ramp_s, "server_pids": pids, "cpu_count": os.cpu_count(),
                    "load_average_start": os.getloadavg()}
    warm_problems = await warm_up(pids, args) if args.warm_up else []
    if warm_problems:
        report["warm_up_errors"] = warm_problems
    if args.probe_rounds:
        report["cpu_ms_per_action_alone"] = await probe(url, servers, args)
    record = Record()
    rss_before, cpu_before = servers.rss(), servers.cpu()
    own_before = time.process_time()
    start = time.monotonic()
    until = start + args.minutes * 60
    first_pages = [asyncio.Event() for _ in range(args.students)]
    tasks = []
    for k in range(args.students):
        delay = args.ramp_s * k / max(1, args.students)
        student = Student(k, url, record, args.think_s, args, rng=random.Random(args.seed * 1000 + k))

        async def go(student=student, delay=delay, event=first_pages[k]):
            await asyncio.sleep(delay)
            await student.run(until, event, args.passes)

        tasks.append(asyncio.create_task(go()))
    await asyncio.gather(*(e.wait() for e in first_pages))
    rss_opened = servers.rss()
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    cpu_used = servers.cpu() - cpu_before
    actions_done = sum(len(v) for v in record.latencies.values())
    report.update({
        "seconds": round(elapsed, 1),
        "load_average_end": os.getloadavg(),
        "actions": {name: {**_summary(record.latencies[name]), "errors": record.errors[name]}
                    for name in ACTIONS if record.latencies[name] or record.errors[name]},
        "runs": record.runs,
        "auto_reruns": record.auto_runs,
        "errors_total": sum(record.errors.values()),
        "errors": record.messages,
        "trainings": record.trainings,
        "server_cpu_s": round(cpu_used, 2),
        "server_cpu_ms_per_action_in_class": round(1000 * cpu_used / max(1, actions_done), 1),
        "server_cpu_share_of_one_core": round(cpu_used / elapsed, 2),
        "generator_cpu_s": round(time.process_time() - own_before, 2),
        "rss_mib": {"before": rss_before, "after_first_pages": rss_opened, "end": servers.rss(),
                    "per_process": servers.memory()},
        "mib_per_session": round((rss_opened - rss_before) / max(1, args.students), 2),
    })
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the app's URL, loopback only (http://127.0.0.1:8501)")
    parser.add_argument("--students", type=int, default=10, help=f"sessions, at most {MAX_STUDENTS}")
    parser.add_argument("--minutes", type=float, default=2.0, help=f"length of the class, at most {MAX_MINUTES}")
    parser.add_argument("--think-s", type=float, default=3.0, help="mean pause between a student's actions")
    parser.add_argument("--ramp-s", type=float, default=20.0, help="students arrive spread over this many seconds")
    parser.add_argument("--passes", type=int, default=0,
                        help="passes through the script per student, at most (0: until the minutes are over)")
    parser.add_argument("--probe-rounds", type=int, default=3, help="passes of the lone student measuring CPU (0: none)")
    parser.add_argument("--train-every", type=int, default=10, help="every k-th student trains once (0: none)")
    parser.add_argument("--train-epochs", type=int, default=2)
    parser.add_argument("--train-images", type=int, default=5000)
    parser.add_argument("--train-wait-s", type=float, default=180.0)
    parser.add_argument("--run-timeout-s", type=float, default=120.0)
    parser.add_argument("--no-reconnect", dest="reconnect", action="store_false")
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                        help="do not open the pages on each server first (MiB per session then includes its models)")
    parser.add_argument("--pid", type=int, action="append", help="a server process to measure (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    check_loopback(args.url)
    if not 1 <= args.students <= MAX_STUDENTS:
        parser.error(f"--students must be 1..{MAX_STUDENTS}")
    if not 0 < args.minutes <= MAX_MINUTES:
        parser.error(f"--minutes must be in (0, {MAX_MINUTES}]")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(run_class(args.url.rstrip("/"), args))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
