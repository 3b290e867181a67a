"""Real-browser latency benchmark of the Explorer page.

Usage::

    python -m bench.browser [--repeats 15] [--server-decoder] [--grid-only] [--click-only]

Starts ``streamlit run app.py`` cold on a free port, drives Debian's chromium
(``/usr/bin/chromium``) through Playwright and prints medians (and all samples) as JSON:

- ``cold_start_to_scatter_s``: server process start to the 10,000-point scatter drawn
  (``--cold-starts N``: only this, N times, each with a new server and page);
- ``slider_step_ms``: an ArrowRight on the z1 slider to the new decoded image in the page
  (the browser decoder's canvas, or with ``--server-decoder`` the server's image loaded);
- ``conditional_slider_step_ms``: the same on the Conditional VAE page's z1 (style) slider;
- ``slider_step_bytes``: bytes the page received for one slider step (websocket frames,
  plus HTTP responses such as the server's PNG), counted until the step's rerun ended;
- ``hover_ms``: a mouse move to another spot on the map to the canvas showing its z;
- ``hover_sweep``: the mouse swept across the map in 120 events: mouse events and
  canvas redraws per second;
- ``click_to_panel_ms``: a mouse click on a scatter point to its click panel shown
  (``--click-only`` measures only this, ``--repeats`` times);
- ``grid_n_20_to_30_ms``: a click on the grid-n slider track (20 -> 30) to the new grid drawn
  by whichever path draws first (the canvas of ``explorer/ui/components/browser_grid.py``: decoded in
  the page with WebGL2, or the server's pixels; with ``--server-decoder`` the Plotly
  figure's PNG as before); ``--grid-only`` measures only this, ``--repeats`` times;
- ``decode_in_page_ms``: the page's decoder alone, per image (200 random z);
- ``decode_grid_30_in_page_ms``: the page's JavaScript decoder (one z at a time, the
  decoder panel's) on the 30 x 30 "paper" grid's codes;
- ``decode_grid_30_webgl_ms``: the page's WebGL2 grid decoder (``explorer/ui/components/grid_gl.js``, the
  grid's redraw in the page) on the same codes, to the 8-bit pixels read back; the first
  call (shader compile, weights upload) is ``decode_grid_30_webgl_first_ms``;
- ``grid_first_draw_webgl``: per ``grid_n_20_to_30_ms`` sample, 1 when the page's WebGL
  drawing came first, 0 when the server's pixels did (the page decodes only where it expects
  that to take at most 100 ms: ``grid_webgl_ms_per_code``, its measure, times 900 codes);
- ``first_load_websocket_bytes`` and ``first_load_http_bytes`` (the first page load), ``weights_bytes`` (the packed
  decoder, ``explorer.core.export.pack_decoder``) and ``js_heap_mb`` (the page's used
  JS heap after the runs, Chrome's ``performance.memory``).

Every interval is measured with the page's own clock (see explorer/testing/browser.py).
Timings are reported, never asserted. The pauses between samples let the app settle so
that samples are independent; they are not synchronisation.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from explorer.testing.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    GRID_CANVAS,
    click_to_panel_ms,
    hover_ms,
    hover_sweep,
    isolated_points,
    open_explorer,
    set_grid_n_by_track_click,
    slider_step_ms,
    streamlit_server,
    wait_for_app_run,
)

MAP_AREA_JS = """() => { const gd = window.__map(), r = gd.getBoundingClientRect();
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  return [r.left + xa._offset, r.top + ya._offset, xa._length, ya._length]; }"""


# The page's decoder alone: milliseconds per decoder mean (one z), over 200 random codes.
DECODE_TIME_JS = """() => { const reg = globalThis.__vxDecoders, net = reg.nets.values().next().value;
  const t0 = performance.now();
  for (let k = 0; k < 200; k++) reg.decodeMean(net, [Math.random() * 8 - 4, Math.random() * 8 - 4], 0);
  return (performance.now() - t0) / 200; }"""
# The page's decoder on a whole grid: milliseconds for the codes given (one z at a time).
DECODE_GRID_JS = """(codes) => { const reg = globalThis.__vxDecoders, net = reg.nets.values().next().value;
  const t0 = performance.now();
  for (const z of codes) reg.decodeMean(net, z, 0);
  return performance.now() - t0; }"""


# The page's WebGL2 grid decoder on a whole grid: milliseconds to the pixels read back (None: no WebGL2).
DECODE_GRID_WEBGL_JS = """(codes) => { const reg = globalThis.__vxDecoders, net = reg.nets.values().next().value;
  const z = new Float32Array(codes.flat()), t0 = performance.now();
  const pixels = globalThis.__vxGridGL.decodeGridGL(net, z, 0);
  return pixels ? performance.now() - t0 : null; }"""
# Records the source ("webgl" or "server") of every grid drawing from now on.
GRID_DRAWS_JS = """(sel) => { window.__gridDraws = []; const c = document.querySelector(sel);
  if (c) c.addEventListener('vx-grid-drawn', (e) => window.__gridDraws.push(e.detail.source)); }"""


def _grid_codes(n: int = 30) -> list[list[float]]:
    from explorer.core.manifold import manifold_coordinates, manifold_z

    return manifold_z(manifold_coordinates(n, "paper")).tolist()


MS_PER_CODE_JS = "() => { const g = globalThis.__vxGridGL; return g ? [...g.msPerCode.values()][0] ?? null : null; }"


def _grid_n_samples(page, url: str, repeats: int) -> tuple[list[float], list[int], list[float]]:
    """``grid_n_20_to_30_ms`` samples, each in a new session (n back at its default, 20);
    for each whether the page's WebGL drawing came first (1) or the server's (0), and the
    page's measured WebGL ms per code at the click (browser_grid.js warmUp; none if not yet)."""
    samples, webgl_first, rates = [], [], []
    for _ in range(repeats):
        page.reload()
        open_explorer(page, url)
        page.wait_for_timeout(500)
        page.evaluate(GRID_DRAWS_JS, GRID_CANVAS)
        rate = page.evaluate(MS_PER_CODE_JS)
        samples.append(set_grid_n_by_track_click(page, 30))
        webgl_first.append(int(page.evaluate("() => window.__gridDraws[0] === 'webgl'")))
        rates += [] if rate is None else [rate]
    return samples, webgl_first, rates


def _webgl_grid_ms(page) -> dict[str, list[float]]:
    """``decode_grid_30_webgl_first_ms`` and ``decode_grid_30_webgl_ms`` (5 calls), or {} without WebGL2."""
    first = page.evaluate(DECODE_GRID_WEBGL_JS, _grid_codes())
    if first is None:
        return {}
    return {"decode_grid_30_webgl_first_ms": [first],
            "decode_grid_30_webgl_ms": [page.evaluate(DECODE_GRID_WEBGL_JS, _grid_codes()) for _ in range(5)]}


class ByteCounter:
    """Bytes the page receives: websocket frames and HTTP response bodies."""

    def __init__(self, page) -> None:
        self.ws = 0
        self.responses = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        page.on("requestfinished", lambda request: self.responses.append(request))

    def _frame(self, payload) -> None:
        self.ws += len(payload)

    def take(self) -> tuple[int, int]:
        """(websocket, HTTP) bytes since the last call."""
        http = sum(max(0, r.sizes()["responseBodySize"]) for r in self.responses)
        ws, self.ws, self.responses[:] = self.ws, 0, []
        return ws, http


def _weights_bytes() -> int:
    from explorer.core.checkpoints import load_checkpoint
    from explorer.core.export import export_decoder, pack_decoder
    from explorer.ui.state.registry import CHECKPOINT_DIR, DEFAULT_CHECKPOINT

    exported = export_decoder(load_checkpoint(CHECKPOINT_DIR / DEFAULT_CHECKPOINT).model)
    return 0 if exported is None else len(pack_decoder(exported))


def _server_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process's ``streamlit run`` child
    (Linux /proc): a measure of the server's work that other load on the machine does not inflate."""
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == os.getpid() and b"streamlit" in cmdline:
            return (int(fields[11]) + int(fields[12])) / ticks
    return float("nan")


def _cold_start(browser, log: Path, env: dict) -> tuple[float, float]:
    """Seconds from a new server process's start to the scatter drawn in a new page, and
    the server's CPU seconds by then."""
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    with streamlit_server(log, env=env) as (url, start):
        open_explorer(page, url, idle=False)
        seconds, cpu = time.perf_counter() - start, _server_cpu_seconds()
        wait_for_app_run(page)  # the next server starts on an idle machine
    page.close()
    return seconds, cpu


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="samples per interactive measure")
    parser.add_argument("--server-decoder", action="store_true",
                        help="decode on the server (EXPLORER_BROWSER_DECODER=0), the path before the browser decoder")
    parser.add_argument("--cold-starts", type=int, default=0,
                        help="only measure this many cold starts (a new server and page each) and stop")
    parser.add_argument("--grid-only", action="store_true",
                        help="measure only grid_n_20_to_30_ms (and decode_grid_30_in_page_ms), --repeats times")
    parser.add_argument("--click-only", action="store_true",
                        help="measure only click_to_panel_ms, --repeats times")
    parser.add_argument("--log", type=Path, default=Path("/tmp/bench_browser_streamlit.log"))
    args = parser.parse_args(argv)
    env = {"EXPLORER_BROWSER_DECODER": "0"} if args.server_decoder else {}
    results: dict[str, list[float]] = {}
    rng = random.Random(0)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        if args.cold_starts:
            starts = [_cold_start(browser, args.log, env) for _ in range(args.cold_starts)]
            results["cold_start_to_scatter_s"] = [wall for wall, _ in starts]
            results["cold_start_server_cpu_s"] = [cpu for _, cpu in starts]
            browser.close()
            print(json.dumps({k: {"median": round(statistics.median(v), 3), "samples": [round(x, 3) for x in v]}
                              for k, v in results.items()}, indent=2))
            return 0
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        counter = ByteCounter(page)
        with streamlit_server(args.log, env=env) as (url, start):
            open_explorer(page, url, idle=False)
            results["cold_start_to_scatter_s"] = [time.perf_counter() - start]
            wait_for_app_run(page)
            page.wait_for_timeout(1000)
            if args.grid_only:
                if not args.server_decoder:
                    results["decode_grid_30_in_page_ms"] = [page.evaluate(DECODE_GRID_JS, _grid_codes())
                                                            for _ in range(3)]
                    results.update(_webgl_grid_ms(page))
                results.update(_grid_results(page, url, args.repeats, args.server_decoder))
                browser.close()
                return _report(results, args)
            if args.click_only:
                results["click_to_panel_ms"] = _click_samples(page, args.repeats)
                browser.close()
                return _report(results, args)
            ws, http = counter.take()
            results["first_load_websocket_bytes"], results["first_load_http_bytes"] = [ws], [http]
            results["slider_step_ms"], results["slider_step_bytes"] = [], []
            for _ in range(args.repeats):
                results["slider_step_ms"].append(slider_step_ms(page))
                wait_for_app_run(page)
                page.wait_for_timeout(300)
                results["slider_step_bytes"].append(sum(counter.take()))
            if not args.server_decoder:
                left, top, width, height = page.evaluate(MAP_AREA_JS)
                spot = lambda: (left + rng.uniform(0.1, 0.9) * width, top + rng.uniform(0.1, 0.9) * height)
                results["hover_ms"] = []
                for _ in range(args.repeats):
                    results["hover_ms"].append(hover_ms(page, *spot()))
                    page.wait_for_timeout(100)
                sweeps = [hover_sweep(page, (left + 5, top + 5 + k), (left + width - 5, top + height - 5 - k), 120)
                          for k in range(max(3, args.repeats // 3))]
                for name in ("moves_per_s", "draws_per_s"):
                    results[f"hover_sweep_{name}"] = [s[name] for s in sweeps]
                page.mouse.move(5, 5)
                results["decode_in_page_ms"] = [page.evaluate(DECODE_TIME_JS)]
                results["decode_grid_30_in_page_ms"] = [page.evaluate(DECODE_GRID_JS, _grid_codes())]
                results.update(_webgl_grid_ms(page))
            results["click_to_panel_ms"] = _click_samples(page, args.repeats)
            results["js_heap_mb"] = [page.evaluate("() => performance.memory.usedJSHeapSize") / 2**20]
            results.update(_grid_results(page, url, max(3, args.repeats // 3), args.server_decoder))
            results["conditional_slider_step_ms"] = _conditional_slider_samples(page, args.repeats)
        browser.close()
    return _report(results, args)


def _grid_results(page, url: str, repeats: int, server_decoder: bool) -> dict[str, list[float]]:
    """``grid_n_20_to_30_ms`` samples and, with the browser path, which drew first and
    the page's measured WebGL milliseconds per code."""
    results = {}
    results["grid_n_20_to_30_ms"], webgl_first, rates = _grid_n_samples(page, url, repeats)
    if not server_decoder:
        results["grid_first_draw_webgl"] = webgl_first
        if rates:
            results["grid_webgl_ms_per_code"] = rates
    return results


def _conditional_slider_samples(page, repeats: int) -> list[float]:
    """``conditional_slider_step_ms`` samples: the Conditional VAE page's z1 (style) slider."""
    page.get_by_role("link", name="Conditional VAE").click()
    page.locator(".st-key-cvae_decoded canvas.vx-canvas, .st-key-cvae_decoded img").first.wait_for()
    samples = []
    for _ in range(repeats):
        samples.append(slider_step_ms(page, ".st-key-cvae_z1_slider", ".st-key-cvae_decoded"))
        page.wait_for_timeout(300)
    return samples


def _click_samples(page, repeats: int) -> list[float]:
    """``click_to_panel_ms`` samples: clicks on two isolated digits in turn."""
    points = isolated_points(page, 2)
    samples = []
    for k in range(repeats):
        samples.append(click_to_panel_ms(page, points[k % 2]))
        print(f"click {k + 1} on digit {points[k % 2]['index']}: {samples[-1]:.0f} ms", file=sys.stderr, flush=True)
        page.wait_for_timeout(500)
    return samples


def _report(results: dict[str, list[float]], args) -> int:
    summary = {k: {"median": round(statistics.median(v), 3), "samples": [round(x, 3) for x in v]}
               for k, v in results.items()}
    summary["weights_bytes"] = 0 if args.server_decoder else _weights_bytes()
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
