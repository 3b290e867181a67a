"""A trace of map clicks in headless chromium: where a click's time goes, and why one is lost.

Usage::

    python -m bench.click_trace [--clicks 15] [--all]

Starts ``streamlit run app.py`` on a free port, clicks two isolated digits of the
Explorer's map in turn (as ``bench.browser --click-only``) and prints, for every click
whose panel does not show within 8 s (``--all``: for every click), what the page saw
from the click on, in its own clock (ms): the mouse events, Plotly's events on the map
(hover, click, selected, relayout, afterplot), the websocket frames sent and received
(over 5 kB, with their sizes), the app's run state, and the live chart's click settings
before the click. This is how the lost clicks of 2026-11-22 were found: Plotly fired
``plotly_click`` but no ``plotly_selected`` (nothing was sent) because the chart had
fallen back to ``clickmode`` "event" and ``dragmode`` "zoom" (fixed by
``explorer.ui.views.common._click_layout``). Since then the map's clicks are sent by the
page on ``plotly_click`` (``explorer.ui.components.map_marks``), without a Plotly selection.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from explorer.testing.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HOVER_SETTLE_MS,
    PANEL_SHOWS,
    isolated_points,
    open_explorer,
    streamlit_server,
    wait_for_app_run,
)

#: Installed before the page loads: a log in the page's clock, fed by the websocket.
INIT_JS = """
window.__trace = [];
window.__T = (...a) => window.__trace.push([Math.round(performance.now()), ...a]);
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (d) {
  window.__T('ws-send', d.byteLength ?? d.length ?? d.size);
  if (!this.__traced) { this.__traced = true;
    this.addEventListener('message', (e) => { const n = e.data.byteLength ?? e.data.size ?? e.data.length;
      if (n > 5000) window.__T('ws-recv', n); }); }
  return send.call(this, d);
};
"""
#: Listeners on the map (again on every new graph div), the run state and the mouse.
HOOK_JS = """() => {
  const T = window.__T, app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver((rs) => { for (const r of rs) T('run', r.oldValue, '->', app.getAttribute('data-test-script-state')); })
    .observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
  let last = null;
  const points = (e) => JSON.stringify((e && e.points || []).map((p) => [p.curveNumber, p.pointNumber]));
  const attach = () => {
    const gd = window.__map();
    if (gd && gd !== last && gd.on) {
      last = gd; T('new graph div');
      gd.on('plotly_hover', (e) => T('hover', points(e)));
      gd.on('plotly_click', (e) => T('click', points(e)));
      gd.on('plotly_selected', (e) => T('selected', points(e)));
      gd.on('plotly_deselect', () => T('deselect'));
      gd.on('plotly_relayout', (e) => T('relayout', Object.keys(e || {}).join(',').slice(0, 60)));
      gd.on('plotly_restyle', () => T('restyle'));
      gd.on('plotly_afterplot', () => T('afterplot'));
    }
    requestAnimationFrame(attach);
  };
  attach();
  for (const type of ['mousedown', 'mouseup']) document.addEventListener(type, () => T(type), true);
}"""
CHART_JS = """() => { const gd = window.__map(), l = gd._fullLayout;
  return `clickmode ${l.clickmode}, dragmode ${l.dragmode}, hovermode ${l.hovermode}`; }"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=15)
    parser.add_argument("--all", action="store_true", help="print the trace of every click, not only lost ones")
    parser.add_argument("--log", type=Path, default=Path("/tmp/click_trace_streamlit.log"))
    args = parser.parse_args(argv)
    lost = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        page.add_init_script(INIT_JS)
        with streamlit_server(args.log) as (url, _):
            open_explorer(page, url)
            page.evaluate(HOOK_JS)
            page.wait_for_timeout(1000)
            points = isolated_points(page, 2)
            for k in range(args.clicks):
                point = points[k % 2]
                wait_for_app_run(page)
                chart = page.evaluate(CHART_JS)
                page.evaluate("() => { window.__trace = []; }")
                page.mouse.move(point["px"], point["py"])
                page.wait_for_timeout(HOVER_SETTLE_MS)
                t0 = page.evaluate("() => { window.__T('click sent'); return performance.now(); }")
                page.mouse.click(point["px"], point["py"])
                try:
                    page.wait_for_function("([t]) => (" + PANEL_SHOWS + ")(t)", arg=[f"Test digit {point['index']}"],
                                           polling="raf", timeout=8000)
                    ms, shown = page.evaluate("() => performance.now()") - t0, True
                except PlaywrightTimeout:
                    ms, shown = float("nan"), False
                    lost += 1
                print(f"click {k + 1} on digit {point['index']}: " + (f"{ms:.0f} ms" if shown else "LOST"), flush=True)
                if args.all or not shown:
                    print(f"    before the click: {chart}")
                    for t, *what in page.evaluate("() => window.__trace"):
                        print(f"    {t - t0:+7.0f} ms  " + " ".join(str(w) for w in what))
                page.wait_for_timeout(500)
        browser.close()
    print(f"lost {lost} of {args.clicks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
