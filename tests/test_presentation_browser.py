"""Computed font sizes on the Explorer in headless chromium at 1366x768, out of
presentation mode and in it (present=1): out of it no text below 14 px and the map's
ticks and legend at least 14 px; in it body text at least 20 px, captions at least 18 px
in the body's colour (not light grey), the map's ticks and legend at least 16 px
(skips without chromium). Captions include the decoded image's caption drawn by the page (.vx-caption)."""

import pytest

from explorer.ui.layout import PLOT_FONT_PX, PRESENT_PLOT_FONT_PX
from tests.helpers.browser import MAP, open_explorer

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
TIMEOUT = 60_000

# sizes of the main area's visible text: every element with text of its own (not inside
# a chart or a tooltip), the body paragraphs, the captions (size and colour), the map's text
FONTS_JS = """(map) => { const main = document.querySelector('[data-testid=stMain]');
  const visible = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const size = (e) => parseFloat(getComputedStyle(e).fontSize);
  const own = [...main.querySelectorAll('*')].filter((e) => visible(e) && !e.closest('.js-plotly-plot')
    && [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()));
  const body = [...main.querySelectorAll('[data-testid=stMarkdownContainer] p')]
    .filter((e) => visible(e) && !e.closest('[data-testid=stCaptionContainer]'));
  const captions = [...main.querySelectorAll('[data-testid=stCaptionContainer], .vx-caption')].filter(visible);
  const rgb = (e) => getComputedStyle(e).color.match(/\\d+/g).slice(0, 3).map(Number);
  const gd = document.querySelector(map);
  const plot = [...gd.querySelectorAll('.xtick text, .ytick text, .legendtext')].filter(visible);
  const least = (xs) => Math.min(...xs.map(size));
  return {text: least(own), smallest: own.sort((a, b) => size(a) - size(b))[0]?.textContent.slice(0, 40),
          body: least(body), caption: least(captions), plot: least(plot), plot_count: plot.length,
          caption_rgb: captions.map(rgb), body_rgb: rgb(main)}; }"""


@pytest.mark.parametrize("present", [False, True], ids=["normal", "presentation"])
def test_font_sizes_in_and_out_of_presentation_mode(page, app_url, artifacts_dir, present):
    page.set_viewport_size({"width": 1366, "height": 768})
    open_explorer(page, app_url + ("/?present=1" if present else "/"), TIMEOUT)
    fonts = page.evaluate(FONTS_JS, MAP)
    assert fonts["plot_count"] >= 8, fonts  # the map's tick labels (its colour key is page text, under it)
    if not present:
        assert fonts["text"] >= 14, fonts
        assert fonts["plot"] >= PLOT_FONT_PX, fonts
    else:
        assert fonts["body"] >= 20, fonts
        assert fonts["caption"] >= 18, fonts
        # captions in the body's colour, not Streamlit's light grey
        assert all(rgb == fonts["body_rgb"] for rgb in fonts["caption_rgb"]), fonts
        assert fonts["plot"] >= PRESENT_PLOT_FONT_PX, fonts
    page.screenshot(path=str(artifacts_dir / f"fonts-explorer-1366x768{'-present' if present else ''}.png"))
