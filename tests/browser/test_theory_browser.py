"""The Theory page's equations inside their column in headless chromium at 1366x768 and
1920x1080, with a digit's numbers plugged in (test digit 3 selected on the Compare page
with the shipped AE and VAE): no equation block scrolls and none reaches past the
column's right edge (issue 21: two were cut at 1366; skips without chromium)."""

import pytest

from explorer.testing.browser import wait_for_app_run

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
TIMEOUT = 120_000
#: Equation blocks with one VAE and one AE: four general ones, the VAE's -ELBO, KL and z,
#: the AE's loss (the ELBO's two general lines count as two).
EQUATIONS = 9

# each equation block once KaTeX's fonts are in: its scroll width against its own box, and
# its drawn formula's right edge against its column's
EQUATIONS_JS = """async () => { await document.fonts.ready;
  return [...document.querySelectorAll('.stMain .katex-display')].map((e) => {
    const column = e.closest('[data-testid=stColumn]').getBoundingClientRect();
    const formula = e.querySelector('.katex-html').getBoundingClientRect();
    return {text: e.textContent.slice(0, 30), scroll: e.scrollWidth, box: e.clientWidth,
            left: formula.left - column.left, right: column.right - formula.right}; }); }"""


def test_theory_equations_fit_their_column(page, app_url, artifacts_dir):
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(app_url + "/compare?digit=3")
    # the Compare page writes its models and the selection into the URL at the end of its run
    page.wait_for_function("() => location.search.includes('left=') && location.search.includes('digit=3')",
                           timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)
    page.get_by_role("link", name="Theory").first.click()  # the same session: the digit goes along
    page.wait_for_function(f"() => document.querySelectorAll('.stMain .katex-display').length >= {EQUATIONS}",
                           timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)
    for width, height in ((1366, 768), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        equations = page.evaluate(EQUATIONS_JS)
        assert len(equations) == EQUATIONS, equations
        for eq in equations:
            assert eq["scroll"] <= eq["box"], (width, eq)  # no scroll bar, nothing hidden
            assert eq["left"] >= 0 and eq["right"] >= 0, (width, eq)  # inside the column
        page.screenshot(path=str(artifacts_dir / f"theory-{width}x{height}.png"))
