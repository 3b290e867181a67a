"""Real-browser latency benchmark of the Explorer page.

Usage::

    python -m bench.browser [--repeats 15]

Starts ``streamlit run app.py`` cold on a free port, drives Debian's chromium
(``/usr/bin/chromium``) through Playwright and prints medians (and all samples) as JSON:

- ``cold_start_to_scatter_s``: server process start to the 10,000-point scatter drawn;
- ``slider_step_ms``: an ArrowRight on the z1 slider to the new decoded image in the page;
- ``click_to_panel_ms``: a mouse click on a scatter point to its click panel shown;
- ``grid_n_20_to_30_ms``: a click on the grid-n slider track (20 -> 30) to the new grid image.

Every interval is measured with the page's own clock (see tests/helpers/browser.py).
Timings are reported, never asserted. The pauses between samples let the app settle so
that samples are independent; they are not synchronisation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from tests.helpers.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    click_to_panel_ms,
    isolated_points,
    open_explorer,
    set_grid_n_by_track_click,
    slider_step_ms,
    streamlit_server,
)


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="samples per interactive measure")
    parser.add_argument("--log", type=Path, default=Path("/tmp/bench_browser_streamlit.log"))
    args = parser.parse_args(argv)
    results: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        with streamlit_server(args.log) as (url, start):
            open_explorer(page, url, idle=False)
            results["cold_start_to_scatter_s"] = [time.perf_counter() - start]
            page.wait_for_timeout(1000)
            results["slider_step_ms"] = []
            for _ in range(args.repeats):
                results["slider_step_ms"].append(slider_step_ms(page))
                page.wait_for_timeout(300)
            points = isolated_points(page, 2)
            results["click_to_panel_ms"] = []
            for k in range(args.repeats):
                results["click_to_panel_ms"].append(click_to_panel_ms(page, points[k % 2]))
                page.wait_for_timeout(500)
            results["grid_n_20_to_30_ms"] = []
            for _ in range(max(3, args.repeats // 3)):
                page.reload()  # a new session: n is back at its default, 20
                open_explorer(page, url)
                page.wait_for_timeout(500)
                results["grid_n_20_to_30_ms"].append(set_grid_n_by_track_click(page, 30))
        browser.close()
    summary = {k: {"median": round(statistics.median(v), 3), "samples": [round(x, 3) for x in v]}
               for k, v in results.items()}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
