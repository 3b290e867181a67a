"""Browser helpers shared by the browser tests and the latency benchmark
(``python -m bench.browser``): the Streamlit server, Debian's chromium settings, the
app's idle signal, positions of latent points on the Explorer's map, clicks, and
timings measured with the page's own clock (``performance.now()``, from just before an
input to the animation frame in which the DOM shows the result).

Synchronisation rule for the helpers (and the tests that use them): never sleep to let
the app catch up. Wait for the result of an action in the DOM, then, where the rest of
that script run matters, for the app's own idle signal (:func:`wait_for_app_run`).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

from explorer.core.manifold import GRID_MAX, GRID_MIN
from explorer.serve import free_port, start_streamlit, stop_all, wait_healthy

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
MAP = ".st-key-map_panel .js-plotly-plot"
#: The manifold grid: the canvas (explorer/ui/components/browser_grid.py) or, with the browser path off, the Plotly figure.
GRID_CANVAS = ".st-key-manifold_grid canvas.vx-grid"
GRID = f"{GRID_CANVAS}, .st-key-manifold_grid .js-plotly-plot"

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


# Streamlit's own run state, published on its root element (checked in the 1.67 frontend:
# data-test-script-state is "initial", "running", "notRunning", ...; it is "running" for
# fragment runs too) plus the status widget's running icon, shown for runs over ~0.5 s.
APP_IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.dataset.testConnectionState === 'CONNECTED'
      && app.dataset.testScriptState === 'notRunning'
      && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]');
}"""


def wait_for_app_run(page, timeout_ms: int = 60_000) -> None:
    """Wait until the session is connected and no script or fragment run is in progress.

    "notRunning" also holds *before* a rerun that an action has only just asked for, so
    right after a click this proves nothing: first wait for the action's first visible
    effect (which shows its run has started), then call this to let that run finish.
    """
    page.wait_for_function(APP_IDLE_JS, polling="raf", timeout=timeout_ms)


#: Counts finished script runs from now on (installs a MutationObserver on the app's run
#: state once; returns the count so far). A run ends when the state leaves "running".
RUNS_ENDED_JS = """() => {
  if (window.__runsEnded === undefined) {
    window.__runsEnded = 0;
    const app = document.querySelector('[data-testid="stApp"]');
    new MutationObserver(records => { for (const r of records) if (r.oldValue === 'running') window.__runsEnded++; })
      .observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
  }
  return window.__runsEnded;
}"""


def runs_ended(page) -> int:
    """Script runs finished since the counter was installed (installs it on the first call).

    It counts the app's script state leaving "running" in the DOM. When the server sends a
    run's messages in a burst (it is starved, e.g. while sessions train), the browser can
    render "running" and "notRunning" at once and the run goes uncounted: where an action's
    run has a visible effect of its own, wait for that effect, then :func:`wait_for_app_run`."""
    return page.evaluate(RUNS_ENDED_JS)


def wait_for_run_after(page, count: int, timeout_ms: int = 60_000) -> None:
    """Wait until a script run has finished since ``runs_ended`` returned ``count``, then
    until the app is idle: the run an action asked for is over, even when the action has
    no visible effect of its own (a tab switch that reruns the page)."""
    page.wait_for_function("(n) => window.__runsEnded > n", arg=count, timeout=timeout_ms)
    wait_for_app_run(page, timeout_ms)


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


def catcher_nearer_spot(page, point: dict, max_px: float) -> dict | None:
    """A whole-pixel screen position within ``max_px`` of ``point``'s centre (a dict from
    :func:`isolated_points`) where a click-catcher point lies nearer than the digit (the
    browser reports the mouse in whole pixels): ``px``, ``py`` and ``digit_px``,
    ``catcher_px`` (the two distances); None if there is none."""
    return page.evaluate("""([p, maxPx]) => {
      const gd = window.__map();
      const catcher = gd._fullData.find(t => t.name === 'decode z here');
      const near = [];
      for (let i = 0; i < catcher.x.length; i++) {
        const [cx, cy] = window.__px(catcher.x[i], catcher.y[i]);
        if (Math.abs(cx - p.px) < 10 && Math.abs(cy - p.py) < 10) near.push([cx, cy]);
      }
      let best = null;
      for (let ix = Math.floor(p.px - maxPx); ix <= Math.ceil(p.px + maxPx); ix++)
        for (let iy = Math.floor(p.py - maxPx); iy <= Math.ceil(p.py + maxPx); iy++) {
          const digit = Math.hypot(ix - p.px, iy - p.py);
          if (digit > maxPx) continue;
          const c = Math.min(...near.map(([cx, cy]) => Math.hypot(ix - cx, iy - cy)));
          if (c < digit && (!best || c < best.catcher_px)) best = {px: ix, py: iy, digit_px: digit, catcher_px: c};
        }
      return best;
    }""", [point, max_px])


def open_explorer(page, url: str, timeout_ms: int = 60_000, idle: bool = True) -> None:
    """Load the app and wait until the map shows all 10,000 test digits, and (``idle``)
    until the page's first run has ended: the map is drawn before the rest of the page,
    and a test that acts while that run is still going races it."""
    page.goto(url)
    page.locator(MAP).wait_for(timeout=timeout_ms)
    page.add_script_tag(content=MAP_JS)
    page.wait_for_function("() => window.__scatterCount() === 10000", timeout=timeout_ms)
    page.locator(GRID).first.wait_for(timeout=timeout_ms)
    if idle:
        wait_for_app_run(page, timeout_ms)


# Plotly selects the point under the cursor from its hover state, which it updates on
# mousemove (throttled to animation frames; the WebGL trace picks on the CPU). A click
# sent in the same instant as the move finds no hovered point and selects nothing. So the
# pause below drives the UI like a person does; it synchronises with nothing in the app.
HOVER_SETTLE_MS = 150


def click_screen(page, px: float, py: float) -> None:
    """Hover, let Plotly register the point under the cursor, then click."""
    page.mouse.move(px, py)
    page.wait_for_timeout(HOVER_SETTLE_MS)
    page.mouse.click(px, py)


MAP_MARKERS_JS = """([selected, star]) => {
  const gd = document.querySelector('%s');
  if (!gd || !gd._fullLayout) return false;
  const near = (name, xy) => { const s = (gd.layout.shapes || []).filter(s => s.name === name);
    return xy === null ? !s.length : s.length === 1 && Math.abs(s[0].xanchor - xy[0]) < 1e-6 && Math.abs(s[0].yanchor - xy[1]) < 1e-6; };
  return near('selected digit', selected) && near('decoder z', star);
}""" % MAP


def wait_for_map_markers(page, selected, star, timeout_ms: int = 60_000) -> None:
    """Wait until the map shows its ring around the clicked digit at ``selected``
    (None: no ring) and the decoder's star at ``star`` (latent x, y): layout shapes that
    the page puts on the map (explorer/ui/components/map_marks.py)."""
    page.wait_for_function(MAP_MARKERS_JS, arg=[selected, star], timeout=timeout_ms)


# What the decoded-image container shows, as a string that changes with the image: the
# browser decoder's canvas ("canvas:" + the z it drew) or the server's image ("img:" + src).
DECODED_JS = """(sel) => { const box = document.querySelector(sel || '.st-key-decoded_image');
  const c = box && box.querySelector('canvas.vx-canvas');
  if (c) return c.dataset.z ? 'canvas:' + c.dataset.z : null;
  const i = box && box.querySelector('img');
  return i && i.src && i.complete && i.naturalWidth > 0 ? 'img:' + i.src : null; }"""


def decoded_src(page, container: str = ".st-key-decoded_image") -> str | None:
    """The decoded image's signature (see ``DECODED_JS``); None while nothing is drawn."""
    return page.evaluate(DECODED_JS, container)


def wait_decoded(page, container: str = ".st-key-decoded_image", timeout_ms: int = 60_000) -> str:
    """Wait until ``container`` shows a decoded image (the canvas drawn, or the server's
    image loaded), then return its signature. The server's image is still loading for a
    moment after the page's first run: a signature read then is None."""
    page.wait_for_function("(sel) => !!(" + DECODED_JS + ")(sel)", arg=container, timeout=timeout_ms)
    return decoded_src(page, container)


def canvas_pixels(page, container: str = ".st-key-decoded_image") -> dict:
    """The browser decoder's drawing in ``container``: ``z`` it decoded, ``pixels`` (the
    canvas read back, 28 * 28 values in 0..255) and ``mean`` (the float decoder mean it drew)."""
    return page.evaluate("""(sel) => { const c = document.querySelector(sel + ' canvas.vx-canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, px = [];
      for (let i = 0; i < d.length; i += 4) px.push(d[i]);
      return {z: c.dataset.z.split(',').map(Number), source: c.dataset.source, net: c.dataset.net,
              pixels: px, mean: Array.from(c.__vxMean)}; }""", container)


# What the grid shows, as a string that changes with it: the canvas's grid ("canvas:" + n|spacing|low|high
# + its draw count) or the Plotly figure's image ("img:" + its PNG data URL).
GRID_JS = """() => { const c = document.querySelector('%s');
  if (c) return c.dataset.grid ? 'canvas:' + c.dataset.grid + '#' + c.dataset.draws : null;
  const g = document.querySelector('.st-key-manifold_grid .js-plotly-plot');
  return g && g.data && g.querySelector('image') ? 'img:' + g.data[0].source : null; }""" % GRID_CANVAS


def grid_source(page) -> str | None:
    """The manifold grid's signature (see ``GRID_JS``); None while nothing is drawn."""
    return page.evaluate(GRID_JS)


def grid_pixels(page, selector: str = GRID_CANVAS) -> dict:
    """The grid canvas read back: ``n``, ``coords`` (the axis coordinates it was sent),
    ``padding``, ``width`` and ``pixels`` (the red channel, row-major, 0..255)."""
    return page.evaluate("""(sel) => { const c = document.querySelector(sel), g = c.__vxGrid.desc;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, px = new Array(d.length / 4);
      for (let i = 0; i < px.length; i++) px[i] = d[4 * i];
      return {n: g.n, coords: g.coords, padding: g.padding, width: c.width, height: c.height, pixels: px}; }""",
                         selector)


def _mark(page) -> None:
    page.evaluate("() => { window.__t0 = performance.now(); }")


def _elapsed_when(page, condition_js: str, arg, timeout_ms: int = 30_000) -> float:
    """Milliseconds from the last ``_mark`` to the animation frame where ``condition_js(arg)`` holds."""
    page.wait_for_function(
        "([arg]) => { if ((" + condition_js + ")(arg)) { window.__t1 = performance.now(); return true; } return false; }",
        arg=[arg], polling="raf", timeout=timeout_ms,
    )
    return page.evaluate("() => window.__t1 - window.__t0")


SRC_CHANGED = "([sel, old]) => { const now = (" + DECODED_JS + ")(sel); return !!now && now !== old; }"
PANEL_SHOWS = "(text) => { const p = document.querySelector('.st-key-click_panel'); return p && p.innerText.includes(text) && p.querySelectorAll('img').length === 2 && [...p.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0); }"
GRID_CHANGED = "(old) => { const now = (" + GRID_JS + ")(); return !!now && now !== old; }"


def slider_step_ms(page, slider: str = ".st-key-z1_slider", container: str = ".st-key-decoded_image") -> float:
    """ArrowRight on a z slider (``slider``: its widget's container) to the new decoded
    image in ``container`` (drawn on the browser decoder's canvas, or the server's image
    loaded).

    Starts from an idle app: an image still arriving from an earlier run would otherwise
    count as this step's result. Returns once the step's own run has ended too (the page
    draws the new z before that run has started; the run's new data for the view shows
    that it has), so steps in a row do not overlap."""
    wait_for_app_run(page)
    # from a drawn image: with none yet, the first image's arrival would pass for the step's
    old = wait_decoded(page, container)
    thumb = page.locator(f"{slider} input[type=range]")
    thumb.focus()
    _mark(page)
    thumb.press("ArrowRight")
    elapsed = _elapsed_when(page, SRC_CHANGED, [container, old])
    page.wait_for_function(SERVER_Z_DRAWN, arg=container, timeout=60_000)
    wait_for_app_run(page)
    return elapsed


#: The browser decoder's view in `sel` has the server's data for the z its canvas shows (a
#: run with the new z has reached the page); true for the server's image (no view).
SERVER_Z_DRAWN = """(sel) => { const v = document.querySelector(sel + ' .vx-view'); if (!v) return true;
  const c = v.querySelector('canvas'); if (!c.dataset.z || !v.dataset.serverZ) return false;
  const a = c.dataset.z.split(',').map(Number), b = v.dataset.serverZ.split(',').map(Number);
  return a.length === b.length && a.every((x, j) => Math.abs(x - b[j]) < 1e-9); }"""


CANVAS_Z = "(sel) => { const c = document.querySelector(sel); return c ? c.dataset.z || '' : ''; }"
CANVAS_Z_CHANGED = "([sel, old]) => { const c = document.querySelector(sel); return !!c && !!c.dataset.z && c.dataset.z !== old; }"


def hover_ms(page, px: float, py: float, canvas: str = ".st-key-decoded_image canvas.vx-canvas") -> float:
    """Mouse move to (px, py) over a map to the browser decoder's canvas showing a new z."""
    old = page.evaluate(CANVAS_Z, canvas)
    _mark(page)
    page.mouse.move(px, py)
    return _elapsed_when(page, CANVAS_Z_CHANGED, [canvas, old])


def hover_sweep(page, start: tuple[float, float], end: tuple[float, float], steps: int,
                canvas: str = ".st-key-decoded_image canvas.vx-canvas") -> dict:
    """Move the mouse from ``start`` to ``end`` in ``steps`` mouse events (as fast as the
    browser takes them): seconds, mouse events and canvas redraws per second."""
    page.mouse.move(*start)
    draws = "(sel) => Number(document.querySelector(sel).dataset.draws || 0)"
    before = page.evaluate(draws, canvas)
    _mark(page)
    page.mouse.move(*end, steps=steps)
    seconds = page.evaluate("() => (performance.now() - window.__t0) / 1000")
    redraws = page.evaluate(draws, canvas) - before
    return {"seconds": seconds, "moves_per_s": steps / seconds, "draws_per_s": redraws / seconds}


def click_to_panel_ms(page, point: dict) -> float:
    """Mouse click on a digit to its click panel showing "Test digit <index>" with both images."""
    wait_for_app_run(page)
    page.mouse.move(point["px"], point["py"])
    page.wait_for_timeout(HOVER_SETTLE_MS)  # see HOVER_SETTLE_MS: UI driving, not synchronisation
    _mark(page)
    page.mouse.click(point["px"], point["py"])
    return _elapsed_when(page, PANEL_SHOWS, f"Test digit {point['index']}")


def set_grid_n_by_track_click(page, n: int) -> float:
    """Click the grid-n slider's track where n lies; milliseconds to the new grid image."""
    wait_for_app_run(page)  # the old image and the track's position are final
    old = grid_source(page)
    track = page.locator(".st-key-grid_n [data-testid=stSliderTickBar]").bounding_box()
    thumb = page.locator(".st-key-grid_n input[type=range]").bounding_box()
    frac = (n - GRID_MIN) / (GRID_MAX - GRID_MIN)
    _mark(page)
    page.mouse.click(track["x"] + frac * track["width"], thumb["y"] + thumb["height"] / 2)
    return _elapsed_when(page, GRID_CHANGED, old)


@contextmanager
def streamlit_server(log_path: Path, timeout_s: float = 60, env: dict[str, str] | None = None):
    """``streamlit run app.py`` on a free loopback port, its output in ``log_path``
    (unbuffered, so a failing test can copy its tail while it runs); ``env`` adds
    environment variables (e.g. ``EXPLORER_MAX_TRAININGS``). Started and awaited by
    :mod:`explorer.serve`'s launch helpers, which the replicas use too.

    Yields:
        (url, start): the app's URL once its health endpoint answers, and the
        ``time.perf_counter()`` just before the process started.

    Raises:
        RuntimeError: the server exited or did not answer within ``timeout_s``.
    """
    port = free_port()
    start = time.perf_counter()
    proc = start_streamlit(port, log_path, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, timeout_s)
        except RuntimeError as exc:
            raise RuntimeError(f"streamlit did not start ({exc}); see {log_path}") from exc
        yield url, start
    finally:
        stop_all([proc])
