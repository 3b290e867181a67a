"""The Explorer in headless chromium against `streamlit run app.py`: real mouse clicks on
the WebGL scatter, keyboard on the sliders (the grid: test_browser_grid.py; skips without chromium)."""

import pytest
from playwright.sync_api import expect

from explorer.ui.figures import DIGIT_MARKER_PX
from tests.helpers.browser import (
    PANEL_SHOWS,
    catcher_nearer_spot,
    click_screen,
    empty_spot,
    isolated_points,
    open_explorer,
    slider_step_ms,
    wait_decoded,
    wait_for_app_run,
    wait_for_map_markers,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
TIMEOUT = 60_000


@pytest.fixture
def explorer(page, app_url):
    open_explorer(page, app_url, TIMEOUT)  # returns once the first run has ended
    return page


def _snap(v: float) -> float:
    """A latent coordinate on the z sliders' 0.05 grid."""
    return round(v / 0.05) * 0.05


def test_a_mouse_click_on_a_point_shows_its_original_and_reconstruction(explorer, artifacts_dir):
    page = explorer
    point = isolated_points(page, 1)[0]
    click_screen(page, point["px"], point["py"])
    page.wait_for_function(PANEL_SHOWS, arg=f"Test digit {point['index']}", timeout=TIMEOUT)
    panel = page.locator(".st-key-click_panel")
    expect(panel.get_by_text("original", exact=True)).to_be_visible()
    expect(panel.get_by_text("reconstruction", exact=True)).to_be_visible()  # the decoder mean at mu (its help)
    expect(panel).to_contain_text(f"mu = ({point['x']:.3f}, {point['y']:.3f})")
    # the sliders follow the click (snapped to their 0.05 step)
    expect(page.locator(".st-key-decoded_image")).to_contain_text(
        f"z = ({_snap(point['x']):.2f}, {_snap(point['y']):.2f})", timeout=TIMEOUT)
    # the map redraws with the digit highlighted and the decoder's star at the sliders' z
    wait_for_map_markers(page, [point["x"], point["y"]], [_snap(point["x"]), _snap(point["y"])], TIMEOUT)
    wait_for_app_run(page)
    page.screenshot(path=str(artifacts_dir / "explorer-point-click.png"))


def test_a_click_on_a_digits_dot_off_its_centre_picks_the_digit_not_the_empty_space_catcher(explorer):
    # The invisible click catcher's points lie a few pixels apart, closer than a dot is
    # wide, and Plotly reports the point nearest to the cursor: a click on a dot, off its
    # centre, decoded empty space (the map_marks element now sends it as the digit's click).
    page = explorer
    spot = point = None
    for point in isolated_points(page, 8):
        spot = catcher_nearer_spot(page, point, DIGIT_MARKER_PX / 2)
        if spot is not None:
            break
    assert spot is not None, "no dot with a catcher point nearer than its centre at some pixel of it"
    click_screen(page, spot["px"], spot["py"])
    page.wait_for_function(PANEL_SHOWS, arg=f"Test digit {point['index']}", timeout=TIMEOUT)
    wait_for_map_markers(page, [point["x"], point["y"]], [_snap(point["x"]), _snap(point["y"])], TIMEOUT)


# The live chart's click behaviour and whether Plotly drew it anew (a new graph div).
CHART_STATE = """() => { const gd = document.querySelector('.st-key-map_panel .js-plotly-plot');
  const fresh = !gd.__seen; gd.__seen = true;
  return [gd._fullLayout.clickmode, gd._fullLayout.dragmode, fresh]; }"""


def test_click_after_click_each_reaches_its_panel_and_the_map_is_kept(explorer):
    # A redraw of the map after a click could leave it in zoom mode without point
    # selection, and later clicks were lost (explorer.ui.views.common._click_layout);
    # the page now moves the marks itself, so the chart is not drawn anew at all.
    page = explorer
    points = isolated_points(page, 2)
    assert page.evaluate(CHART_STATE) == ["event", "pan", True]
    for k in range(4):
        point = points[k % 2]
        click_screen(page, point["px"], point["py"])
        page.wait_for_function(PANEL_SHOWS, arg=f"Test digit {point['index']}", timeout=TIMEOUT)
        wait_for_map_markers(page, [point["x"], point["y"]], [_snap(point["x"]), _snap(point["y"])], TIMEOUT)
        wait_for_app_run(page)
        assert page.evaluate(CHART_STATE) == ["event", "pan", False], f"after click {k + 1}"
    # a click on the digit already selected, after the sliders moved away, takes them back
    # to its mu (a click is an event, not a selection that has to change)
    point = points[1]
    at_mu = f"z = ({_snap(point['x']):.2f}, {_snap(point['y']):.2f})"
    page.mouse.move(0, 0)  # off the map: the decoder shows the sliders' z again
    page.wait_for_function("() => document.querySelector('.st-key-decoded_image canvas.vx-canvas')"
                           ".dataset.source === 'sliders'", timeout=TIMEOUT)
    slider_step_ms(page)  # one step on z1 (0.05); returns once its run, which the click must follow, is over
    expect(page.locator(".st-key-decoded_image")).not_to_contain_text(at_mu)
    click_screen(page, point["px"], point["py"])
    expect(page.locator(".st-key-decoded_image")).to_contain_text(at_mu, timeout=TIMEOUT)


# The map's axis ranges as Plotly holds them (what it maps a click's pixel to).
MAP_RANGES = """() => { const l = document.querySelector('.st-key-map_panel .js-plotly-plot')._fullLayout;
  return [l.xaxis.range.map(Number), l.yaxis.range.map(Number)]; }"""


def test_two_quick_clicks_on_two_digits_keep_the_axes_and_the_second_reaches_its_panel(explorer):
    # Plotly counts two mousedowns under 300 ms apart as a double-click wherever they are,
    # and its default double-click autoranged the map's axes: the second click, and every
    # later one, landed on another point or on empty space (page_click_chart's doubleClick).
    page = explorer
    first, second = isolated_points(page, 2)
    ranges = page.evaluate(MAP_RANGES)
    for point in (first, second):  # the second mousedown about 150 ms after the first
        page.mouse.move(point["px"], point["py"])
        page.wait_for_timeout(150)
        page.mouse.click(point["px"], point["py"])
    page.wait_for_function(PANEL_SHOWS, arg=f"Test digit {second['index']}", timeout=TIMEOUT)
    wait_for_app_run(page)
    assert page.evaluate(MAP_RANGES) == ranges


def test_a_mouse_click_on_empty_space_decodes_the_z_there(explorer, artifacts_dir):
    page = explorer
    spot = empty_spot(page)
    assert spot is not None
    click_screen(page, spot["px"], spot["py"])
    expected = f"Clicked z = ({spot['x']:.3f}, {spot['y']:.3f})"
    page.wait_for_function(
        "(t) => { const p = document.querySelector('.st-key-click_panel');"
        " return p && p.innerText.includes(t) && p.querySelector('img') && p.querySelector('img').naturalWidth > 0; }",
        arg=expected, timeout=TIMEOUT)
    expect(page.locator(".st-key-decoded_image")).to_contain_text(
        f"z = ({spot['x']:.2f}, {spot['y']:.2f})", timeout=TIMEOUT)
    # the map redraws with no highlighted digit and the decoder's star at the click
    wait_for_map_markers(page, None, [spot["x"], spot["y"]], TIMEOUT)
    wait_for_app_run(page)
    page.screenshot(path=str(artifacts_dir / "explorer-empty-click.png"))


def test_a_slider_moved_by_keyboard_changes_the_decoded_image(explorer, artifacts_dir):
    page = explorer
    before = wait_decoded(page)
    slider_step_ms(page)  # ArrowRight on z1, waits for a new image
    assert wait_decoded(page) != before
    expect(page.locator(".st-key-decoded_image")).to_contain_text("z = (0.05, 0.00)")
    wait_for_app_run(page)
    page.screenshot(path=str(artifacts_dir / "explorer-slider.png"))
