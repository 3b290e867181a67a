"""Real-browser latency benchmark of the Explorer page, and the helpers its tests share.

Run: ``python -m explorer.bench_browser [--repeats 15]``. Starts ``streamlit run app.py``
cold on a free port, drives Debian's chromium (``/usr/bin/chromium``) through Playwright
and prints medians (and all samples) as JSON:

- ``cold_start_to_scatter_s``: server process start to the 10,000-point scatter drawn;
- ``slider_step_ms``: an ArrowRight on the z1 slider to the new decoded image in the page;
- ``click_to_panel_ms``: a mouse click on a scatter point to its click panel shown;
- ``grid_n_20_to_30_ms``: a click on the grid-n slider track (20 -> 30) to the new grid image.

Every interval is measured with the page's own clock (``performance.now()``), from just
before the input to the animation frame in which the DOM shows the result.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from explorer.core.latent import GRID_MAX, GRID_MIN

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
MAP = ".st-key-map_panel .js-plotly-plot"

# Page-side helpers: pixel positions of latent points on the map, isolated points.
MAP_JS = """
window.__mapSelector = window.__mapSelector || '%s';
window.__map = () => document.querySelector(window.__mapSelector);
window.__px = (x, y) => {
  const gd = window.__map(), r = gd.getBoundingClientRect();
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  return [r.left + xa._offset + xa.l2p(x), r.top + ya._offset + ya.l2p(y)];
};
window.__digits = () => {
  const gd = window.__map(), pts = [];
  gd._fullData.forEach((t, c) => { if ((t.name || '').startsWith('digit')) {
    for (let i = 0; i < t.x.length; i++) pts.push({c, i, x: t.x[i], y: t.y[i], index: t.customdata[i][0]});
  }});
  return pts;
};
window.__scatterCount = () => { const gd = window.__map();
  return gd && gd._fullData ? window.__digits().length : 0; };
""" % MAP


def use_map(page, selector: str) -> None:
    """Point the page-side helpers (:func:`isolated_points`, ``__px``) at the map under
    ``selector`` (a ``.js-plotly-plot``), for pages with more than one map."""
    page.evaluate("(sel) => { window.__mapSelector = sel; }", selector)


def isolated_points(page, count: int, min_px: float = 10.0) -> list[dict]:
    """Up to ``count`` digit points whose nearest other digit is at least ``min_px`` away
    on screen, spread over the map: dicts with screen ``px``, ``py``, latent ``x``, ``y``
    and test-set ``index``.
    """
    return page.evaluate("""([count, minPx]) => {
      const pts = window.__digits().map(p => { const [px, py] = window.__px(p.x, p.y); return {...p, px, py}; });
      const gd = window.__map(), r = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
      const inside = p => p.px > r.left + xa._offset + 10 && p.px < r.left + xa._offset + xa._length - 10 &&
                          p.py > r.top + ya._offset + 10 && p.py < r.top + ya._offset + ya._length - 10;
      const cell = 20, grid = new Map();
      for (const p of pts) { const k = Math.floor(p.px / cell) + ',' + Math.floor(p.py / cell);
        if (!grid.has(k)) grid.set(k, []); grid.get(k).push(p); }
      const out = [];
      for (const p of pts) {
        if (!inside(p)) continue;
        let near = Infinity; const gx = Math.floor(p.px / cell), gy = Math.floor(p.py / cell);
        for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++)
          for (const q of grid.get((gx + dx) + ',' + (gy + dy)) || [])
            if (q !== p) near = Math.min(near, Math.hypot(q.px - p.px, q.py - p.py));
        if (near >= minPx && out.every(o => Math.hypot(o.px - p.px, o.py - p.py) > 60)) out.push(p);
        if (out.length >= count) break;
      }
      return out;
    }""", [count, min_px])


def empty_spot(page, min_px: float = 40.0) -> dict:
    """A click-catcher point at least ``min_px`` from every digit: screen and latent position."""
    return page.evaluate("""(minPx) => {
      const gd = window.__map();
      const catcher = gd._fullData.find(t => t.name === 'decode z here');
      const digits = window.__digits().map(p => window.__px(p.x, p.y));
      for (let i = 0; i < catcher.x.length; i += 7) {
        const [px, py] = window.__px(catcher.x[i], catcher.y[i]);
        const r = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        if (px < r.left + xa._offset + 20 || px > r.left + xa._offset + xa._length - 20) continue;
        if (py < r.top + ya._offset + 20 || py > r.top + ya._offset + ya._length - 20) continue;
        if (digits.every(([qx, qy]) => Math.hypot(qx - px, qy - py) >= minPx))
          return {px, py, x: catcher.x[i], y: catcher.y[i]};
      }
      return null;
    }""", min_px)


def open_explorer(page, url: str, timeout_ms: int = 60_000) -> None:
    """Load the app and wait until the map shows all 10,000 test digits."""
    page.goto(url)
    page.locator(MAP).wait_for(timeout=timeout_ms)
    page.add_script_tag(content=MAP_JS)
    page.wait_for_function("() => window.__scatterCount() === 10000", timeout=timeout_ms)
    page.locator(".st-key-manifold_grid .js-plotly-plot").wait_for(timeout=timeout_ms)


def click_screen(page, px: float, py: float) -> None:
    """Hover, let Plotly register the point under the cursor, then click."""
    page.mouse.move(px, py)
    page.wait_for_timeout(150)
    page.mouse.click(px, py)


def decoded_src(page) -> str:
    return page.locator(".st-key-decoded_image img").get_attribute("src")


def grid_source(page) -> str:
    return page.evaluate("() => document.querySelector('.st-key-manifold_grid .js-plotly-plot').data[0].source")


def _mark(page) -> None:
    page.evaluate("() => { window.__t0 = performance.now(); }")


def _elapsed_when(page, condition_js: str, arg, timeout_ms: int = 30_000) -> float:
    """Milliseconds from the last ``_mark`` to the animation frame where ``condition_js(arg)`` holds."""
    page.wait_for_function(
        "([arg]) => { if ((" + condition_js + ")(arg)) { window.__t1 = performance.now(); return true; } return false; }",
        arg=[arg], polling="raf", timeout=timeout_ms,
    )
    return page.evaluate("() => window.__t1 - window.__t0")


SRC_CHANGED = "(old) => { const i = document.querySelector('.st-key-decoded_image img'); return i && i.src && !i.src.endsWith(old); }"
PANEL_SHOWS = "(text) => { const p = document.querySelector('.st-key-click_panel'); return p && p.innerText.includes(text) && p.querySelectorAll('img').length === 2 && [...p.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0); }"
GRID_CHANGED = "(old) => { const g = document.querySelector('.st-key-manifold_grid .js-plotly-plot'); return g && g.data && g.data[0].source !== old && g.querySelector('image'); }"


def slider_step_ms(page) -> float:
    """ArrowRight on the z1 slider to the new decoded image (src changed, image loaded)."""
    old = decoded_src(page).rsplit("/", 1)[-1]
    slider = page.locator(".st-key-z1_slider input[type=range]")
    slider.focus()
    _mark(page)
    slider.press("ArrowRight")
    return _elapsed_when(page, SRC_CHANGED, old)


def click_to_panel_ms(page, point: dict) -> float:
    """Mouse click on a digit to its click panel showing "Test digit <index>" with both images."""
    page.mouse.move(point["px"], point["py"])
    page.wait_for_timeout(150)
    _mark(page)
    page.mouse.click(point["px"], point["py"])
    return _elapsed_when(page, PANEL_SHOWS, f"Test digit {point['index']}")


def set_grid_n_by_track_click(page, n: int) -> float:
    """Click the grid-n slider's track where n lies; milliseconds to the new grid image."""
    old = grid_source(page)
    track = page.locator(".st-key-grid_n [data-testid=stSliderTickBar]").bounding_box()
    thumb = page.locator(".st-key-grid_n input[type=range]").bounding_box()
    frac = (n - GRID_MIN) / (GRID_MAX - GRID_MIN)
    _mark(page)
    page.mouse.click(track["x"] + frac * track["width"], thumb["y"] + thumb["height"] / 2)
    return _elapsed_when(page, GRID_CHANGED, old)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(log_path: Path):
    """``streamlit run app.py`` on a free loopback port; yields (url, start time)."""
    port = _free_port()
    start = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
             "--server.address=127.0.0.1", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            yield f"http://127.0.0.1:{port}", start
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_healthy(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("streamlit did not start")


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="samples per interactive measure")
    parser.add_argument("--log", type=Path, default=Path("/tmp/bench_browser_streamlit.log"))
    args = parser.parse_args(argv)
    results: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        with streamlit_server(args.log) as (url, start):
            _wait_healthy(url)
            open_explorer(page, url)
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
