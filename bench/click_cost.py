"""What a map click on the Explorer costs the server, and what an idle session holds.

Usage::

    python -m bench.click_cost [--url http://127.0.0.1:8501] [--clicks 40] [--idle 10]

Without ``--url`` it starts ``streamlit run app.py`` on a free loopback port (and stops it
at the end). Over Streamlit's own protocol (:mod:`bench.st_client`, no browser):

1. warm-up: one session opens the Explorer and clicks 5 digits (the server's caches);
2. clicks: one session opens the Explorer and clicks ``--clicks`` random test digits one
   after another (the map's ``click`` event, as the page sends it), each checked (the
   click panel then names the digit); per click the server's CPU time (``/proc/<pid>/stat``,
   10 ms ticks, so the mean over all clicks is the figure to read) and the latency (request
   to the run's end), and what the run sent: its elements and whether any lay outside a
   fragment (a whole-page run) or was the map's chart, the binary data of its components
   (the decoder's weights, if drawn again) and its bytes on the wire;
3. for comparison, ``--reruns`` whole-page reruns of the Explorer (what a click cost
   before it reran only its fragments);
4. idle sessions: ``--idle`` sessions open the Explorer and stay; the server's RSS growth
   divided by their number is the MiB per idle session (the models and caches are shared
   and were loaded by the warm-up).

Prints one JSON report; the machine's load average at the start and end is in it.
Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.class_load import TEST_IMAGES, Servers, server_pids
from bench.st_client import StreamlitSession, check_loopback


def _point(index: int) -> dict:
    return {"curve_number": 0, "point_number": index, "point_index": index, "x": 0.0, "y": 0.0,
            "customdata": [index]}


async def click(session: StreamlitSession, index: int):
    """Click test digit ``index`` on the Explorer's map; raises RuntimeError if the click
    panel does not then name it."""
    result = await session.component_event("map_marks", "click", {"points": [_point(index)]})
    if result.exceptions:
        raise RuntimeError(f"click on {index}: {result.exceptions}")
    if not any(f"Test digit {index}**" in text for text in session.texts()):
        raise RuntimeError(f"the click panel does not show test digit {index}")
    return result


def _ms(values_s: list[float]) -> dict:
    ms = sorted(1000 * v for v in values_s)
    p95 = ms[min(len(ms) - 1, max(0, round(0.95 * len(ms)) - 1))]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1),
            "max_ms": round(ms[-1], 1)}


async def measure(url: str, args) -> dict:
    servers = Servers(server_pids(url))
    report: dict = {"url": url, "server_pids": servers.pids, "load_average_start": os.getloadavg()}
    rng = random.Random(args.seed)
    warm = StreamlitSession(url, follow_auto_reruns=False)
    await warm.open()
    for _ in range(5):
        await click(warm, rng.randrange(TEST_IMAGES))
    await warm.close()

    session = StreamlitSession(url, follow_auto_reruns=False)
    await session.open()
    latencies, cpu_ms, whole_page, map_sent, elements, component_bytes, wire_bytes = [], [], 0, 0, [], [], []
    cpu_start = servers.cpu()
    for _ in range(args.clicks):
        cpu0 = servers.cpu()
        result = await click(session, rng.randrange(TEST_IMAGES))
        cpu_ms.append(1000 * (servers.cpu() - cpu0))
        latencies.append(result.seconds)
        whole_page += any(not fragment for _, fragment in result.elements)
        map_sent += any(kind == "plotly_chart" for kind, _ in result.elements)
        elements.append(len(result.elements))
        component_bytes.append(result.component_bytes)
        wire_bytes.append(result.wire_bytes)
    report["click"] = {
        **_ms(latencies),
        "cpu_ms_mean": round(1000 * (servers.cpu() - cpu_start) / args.clicks, 1),
        "cpu_ms_median": round(statistics.median(cpu_ms), 1),
        "runs_with_elements_outside_fragments": whole_page,
        "runs_that_sent_the_map": map_sent,
        "elements_per_run": round(statistics.mean(elements), 1),
        "component_bytes_per_run": round(statistics.mean(component_bytes)),
        "wire_kib_per_run": round(statistics.mean(wire_bytes) / 1024, 1),
    }
    if args.reruns:
        latencies, cpu_start = [], servers.cpu()
        for _ in range(args.reruns):
            latencies.append((await session.rerun()).seconds)
        report["page_rerun"] = {**_ms(latencies),
                                "cpu_ms_mean": round(1000 * (servers.cpu() - cpu_start) / args.reruns, 1)}
    await session.close()

    if args.idle:
        await asyncio.sleep(2)
        rss0 = servers.rss()
        idle = [StreamlitSession(url, follow_auto_reruns=False) for _ in range(args.idle)]
        for s in idle:
            await s.open()
        await asyncio.sleep(2)
        rss1 = servers.rss()
        report["idle_sessions"] = {"n": args.idle, "rss_before_mib": rss0, "rss_after_mib": rss1,
                                   "mib_per_idle_session": round((rss1 - rss0) / args.idle, 2)}
        for s in idle:
            await s.close()
    report["load_average_end"] = os.getloadavg()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app (loopback only); default: start one")
    parser.add_argument("--clicks", type=int, default=40)
    parser.add_argument("--reruns", type=int, default=10, help="whole-page reruns to compare with (0: none)")
    parser.add_argument("--idle", type=int, default=10, help="idle sessions for the MiB per session (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.url:
            check_loopback(args.url)
            url = args.url.rstrip("/")
        else:
            from explorer.testing.browser import streamlit_server

            log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "streamlit.log"
            url, _ = stack.enter_context(streamlit_server(log))
        started = time.perf_counter()
        report = asyncio.run(measure(url, args))
        report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
