"""The legends beside the maps of the Contractive page and both Linear AE = PCA maps fit
their figure in headless chromium: every entry (the ten digits and "perturbed digits") lies
inside the legend's box and the chart, nothing scrolls, text >= 14 px (16 px presenting), at
1366x768 and 1920x1080 (skips without chromium)."""

import pytest

from tests.helpers.browser import wait_for_app_run

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
TIMEOUT = 300_000  # a fresh server measures the three models first (minutes on a busy 2-core machine)

# Page-side: per chart under `sel` that has a legend, the boxes (top, bottom, left, right) of
# its SVG, its legend's background and each entry, each entry's text and font size in px,
# and the height of Plotly's legend scrollbar (0 or absent when nothing scrolls).
LEGENDS_JS = """(sel) => [...document.querySelectorAll(sel + ' .js-plotly-plot')]
  .filter(gd => gd.querySelector('g.legend g.traces')).map(gd => {
    const box = (e) => { const r = e.getBoundingClientRect(); return [r.top, r.bottom, r.left, r.right]; };
    const bar = gd.querySelector('g.legend rect.scrollbar');
    return {svg: box(gd.querySelector('svg.main-svg')), bg: box(gd.querySelector('g.legend rect.bg')),
            items: [...gd.querySelectorAll('g.legend g.traces')].map(box),
            texts: [...gd.querySelectorAll('g.legend text.legendtext')].map(
              t => [t.textContent, parseFloat(getComputedStyle(t).fontSize)]),
            scrollbar: bar ? bar.getBoundingClientRect().height : 0}; })"""
# Page-side: the charts under `sel` have drawn all their traces' legend entries.
DRAWN_JS = """([sel, n, entries]) => { const gds = [...document.querySelectorAll(sel + ' .js-plotly-plot')];
  return gds.length === n && gds.every(gd => gd._fullData && gd._fullData.length >= 10)
    && gds.some(gd => gd.querySelectorAll('g.legend g.traces').length === entries); }"""
PAGES = {  # url path -> (charts' container, number of charts, legend entries, one that must show)
    "contractive": ('[class*="st-key-cae_box_"]', 3, 11, "perturbed digits"),
    "linear_pca": ('[data-testid="stMain"]', 2, 10, "digit 9"),
}


def _inside(inner, outer, slack=1.0) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] <= outer[1] + slack and inner[2] >= outer[2] - slack
            and inner[3] <= outer[3] + slack)


#: The two looks checked, in this order on one page: a laptop out of presentation mode, then
#: (the window resized in place and the toggle switched on) a projector presenting.
LOOKS = (((1366, 768), False), ((1920, 1080), True))
# the legends' text is at least `px` (the run after the toggle has drawn them)
LEGEND_PX_JS = """([sel, px]) => { const t = [...document.querySelectorAll(sel + ' g.legend text.legendtext')];
  return t.length > 0 && t.every(e => parseFloat(getComputedStyle(e).fontSize) >= px); }"""


@pytest.mark.parametrize("path", list(PAGES))
def test_map_legends_fit_without_scrolling(page, app_url, artifacts_dir, path):
    """One page per path, checked at both looks (:data:`LOOKS`): a second page load per path
    cost more than the resize and the toggle's rerun."""
    container, charts, entries, must = PAGES[path]
    for number, (size, present) in enumerate(LOOKS):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        smallest = 16 if present else 14
        if number == 0:
            page.goto(f"{app_url}/{path}" + ("?present=1" if present else ""))
        elif present:
            page.locator(".st-key-present_mode label").first.click()
        page.wait_for_function(DRAWN_JS, arg=[container, charts, entries], timeout=TIMEOUT)
        page.wait_for_function(LEGEND_PX_JS, arg=[container, smallest], timeout=TIMEOUT)
        wait_for_app_run(page)
        page.wait_for_timeout(300)  # a chart follows its column's width on the next animation frame
        legends = page.evaluate(LEGENDS_JS, container)
        assert legends
        for legend in legends:
            texts = [t for t, _ in legend["texts"]]
            assert len(texts) == entries and must in texts, (size, texts)
            assert all(px >= smallest for _, px in legend["texts"]), (size, legend["texts"])
            assert legend["scrollbar"] == 0, (size, legend)
            assert _inside(legend["bg"], legend["svg"]), (size, legend)
            assert all(_inside(item, legend["bg"]) for item in legend["items"]), (size, legend)
        page.screenshot(path=str(artifacts_dir / f"legend-{path}-{size[0]}x{size[1]}{'-present' if present else ''}.png"))
