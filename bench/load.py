"""Load benchmark: many browser sessions on one server, some of them training.

Usage::

    python -m bench.load [--sessions 30] [--training 5] [--rounds 5] [--max-trainings N]

Starts ``streamlit run app.py`` on a free port and opens ``--sessions`` browser contexts
(separate sessions, separate cookies) in one headless chromium. The first ``--training``
of them open the Train page and start a long run (all 60,000 images, 50 epochs; beyond
the server's training slots they wait in its queue), then go to the Explorer. Every
session then does ``--rounds`` rounds of Explorer interactions, one session after
another: an ArrowRight on the z1 slider to the new decoded image, and a click on a digit
to its click panel. Prints JSON:

- ``slider_step_ms`` and ``click_to_panel_ms``: p50, p95, max and the number of samples;
- ``open_session_s``: seconds from ``goto`` to a full map, per session (p50, p95, max);
- ``server_peak_rss_mib``: the server process's peak resident memory (``VmHWM``), and its
  RSS sampled after the sessions opened and at the end;
- ``trainings``: how many of the training sessions were running or queued at the end
  (the Train page's progress text), and the server's slot count;
- ``own_state_kept``: before the rounds, session k sets its manifold grid to n = 5 + k % 5
  cells a side; afterwards each session's grid slider is read back: how many still show
  their own n (all of them, unless sessions leak state into each other).

A partial report goes to standard error after the sessions are open and after every
round, so a run cut short still leaves its figures. Timings are reported, never
asserted. Run the full size (30 sessions, 5 training) on an
idle machine only: it keeps both cores busy for several minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import os
import re
import statistics
import time
from pathlib import Path

from explorer.testing.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    click_to_panel_ms,
    isolated_points,
    open_explorer,
    slider_step_ms,
    streamlit_server,
    wait_for_app_run,
)


def _server_pid(port: int) -> int | None:
    """The pid of the ``streamlit run`` process serving ``port`` (from /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmdline) and f"--server.port={port}".encode() in cmdline:
            return int(entry.name)
    return None


def _memory_mib(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of ``pid`` in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return fields


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"n": len(values), "p50": round(statistics.median(ordered), 1), "p95": round(p95, 1),
            "max": round(ordered[-1], 1)}


def _start_training(page, url: str) -> None:
    """Open the Train page, start a long run, go back to the Explorer."""
    wait_for_app_run(page)
    page.get_by_role("link", name="Train").click()
    button = page.locator(".st-key-start_training button")
    button.wait_for(timeout=120_000)
    wait_for_app_run(page)
    epochs = page.locator(".st-key-train_epochs input")
    epochs.fill("50")
    epochs.press("Tab")
    button.click()
    page.get_by_text(re.compile(r"in line|Epoch \d+/50")).first.wait_for(timeout=120_000)


def _training_state(page) -> str:
    wait_for_app_run(page)
    page.get_by_role("link", name="Train").click()
    page.get_by_role("heading", name="Train a model").wait_for(timeout=120_000)
    progress = page.get_by_text(re.compile(r"in line|Epoch \d+/50|Training finished|Stopped|diverged")).first
    progress.wait_for(timeout=120_000)
    text = progress.inner_text()  # read once the element is there: a report, not a check
    return "queued" if "in line" in text else "running" if "Epoch" in text else "ended"


GRID_N = ".st-key-grid_n input[type=range]"


def _set_grid_n(page, steps: int) -> None:
    """Grid n to its minimum, then ``steps`` up (keyboard on the slider's thumb)."""
    wait_for_app_run(page)
    thumb = page.locator(GRID_N)
    thumb.focus()
    thumb.press("Home")
    for _ in range(steps):
        wait_for_app_run(page)
        thumb.press("ArrowRight")
    wait_for_app_run(page)


def _grid_n(page) -> int:
    wait_for_app_run(page)
    thumb = page.locator(GRID_N)
    return int(thumb.get_attribute("aria-valuenow") or thumb.input_value())


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--training", type=int, default=5, help="sessions that start a training")
    parser.add_argument("--rounds", type=int, default=5, help="interaction rounds over all sessions")
    parser.add_argument("--max-trainings", type=int, default=None,
                        help="the server's EXPLORER_MAX_TRAININGS (default: its own default, the core count)")
    parser.add_argument("--log", type=Path, default=Path("/tmp/bench_load_streamlit.log"))
    args = parser.parse_args(argv)
    env = {} if args.max_trainings is None else {"EXPLORER_MAX_TRAININGS": str(args.max_trainings)}
    slider, clicks, opened, states = [], [], [], []
    t0 = time.perf_counter()
    with sync_playwright() as p, streamlit_server(args.log, env=env) as (url, _):
        pid = _server_pid(int(url.rsplit(":", 1)[1]))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = []
        for k in range(args.sessions):
            page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            start = time.perf_counter()
            open_explorer(page, url, timeout_ms=300_000)
            opened.append(time.perf_counter() - start)
            pages.append(page)
            if k < args.training:
                _start_training(page, url)
                open_explorer(page, url, timeout_ms=300_000)  # a new session of the same browser
        after_open = _memory_mib(pid) if pid else {}
        wanted = {}
        for k, page in enumerate(pages):
            _set_grid_n(page, k % 5)
            wanted[id(page)] = _grid_n(page)
        points = {id(page): isolated_points(page, 2) for page in pages}
        def partial(stage: str) -> None:
            print(json.dumps({"stage": stage, "slider_step_ms": _summary(slider),
                              "click_to_panel_ms": _summary(clicks), "open_session_s": _summary(opened),
                              "server_memory_mib": _memory_mib(pid) if pid else {},
                              "elapsed_s": round(time.perf_counter() - t0, 1)}), file=sys.stderr, flush=True)

        partial("sessions open")
        for r in range(args.rounds):
            for page in pages:
                slider.append(slider_step_ms(page))
                clicks.append(click_to_panel_ms(page, points[id(page)][r % 2]))
            partial(f"round {r + 1} of {args.rounds}")
        kept = sum(_grid_n(page) == wanted[id(page)] for page in pages)
        for page in pages[: args.training]:
            states.append(_training_state(page))
        at_end = _memory_mib(pid) if pid else {}
        browser.close()
    from explorer.ui.jobs.training_queue import MAX_CONCURRENT_TRAININGS

    print(json.dumps({
        "sessions": args.sessions, "training_sessions": args.training, "rounds": args.rounds,
        "cpu_count": os.cpu_count(), "server_training_slots": args.max_trainings or MAX_CONCURRENT_TRAININGS,
        "slider_step_ms": _summary(slider), "click_to_panel_ms": _summary(clicks),
        "open_session_s": _summary(opened),
        "server_peak_rss_mib": at_end.get("VmHWM"), "server_rss_mib": {"after_open": after_open.get("VmRSS"),
                                                                       "at_end": at_end.get("VmRSS")},
        "trainings": {s: states.count(s) for s in ("running", "queued", "ended")},
        "own_state_kept": f"{kept} of {len(pages)} sessions",
        "grid_n_set": sorted(set(wanted.values())),
        "wall_s": round(time.perf_counter() - t0, 1),
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
