"""The Compare page's lesson tools in headless chromium: an interpolation picked by two
clicks on a map, a digit drawn with the mouse that lands on both maps, and a lesson link
that restores its step and selection (skips without chromium)."""

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import (
    MAP_JS, click_screen, draw_a_one, isolated_points, runs_ended, use_map, wait_for_app_run, wait_for_run_after,
)
from tests.browser.test_compare_browser import COMPARE_JS, MAPS, PANEL, PANEL_SHOWS, TIMEOUT, open_compare

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]

# a named trace of n points running from the code of test digit `start` to that of `end`
PATH_JS = """([sel, name, n, start, end]) => { const t = window.__trace(sel, name);
  const a = window.__codeOf(sel, start), b = window.__codeOf(sel, end);
  if (!t || !a || !b || t.x.length !== n) return false;
  const near = (x, y, c) => Math.abs(x - c[0]) < 1e-4 && Math.abs(y - c[1]) < 1e-4;
  return near(t.x[0], t.y[0], a) && near(t.x[n - 1], t.y[n - 1], b); }"""
IMAGE_LOADED_JS = """(sel) => { const i = document.querySelector(sel); return !!i && i.complete && i.naturalWidth > 0; }"""


def test_two_clicks_on_a_map_pick_an_interpolation_shown_on_both_maps(page, app_url, artifacts_dir):
    open_compare(page, app_url)
    use_map(page, MAPS["a"])
    first, second = isolated_points(page, 2, min_px=12)
    start, end = first["index"], second["index"]
    for point in (first, second):  # the first click sets the start, the second the end
        click_screen(page, point["px"], point["py"])
        page.wait_for_function(PANEL_SHOWS, arg=[PANEL, f"Test digit {point['index']}"], timeout=TIMEOUT)
        wait_for_app_run(page)
    for side, selector in MAPS.items():
        page.wait_for_function(PATH_JS, arg=[selector, "interpolation path", 10, start, end], timeout=TIMEOUT)
    wait_for_app_run(page)
    page.get_by_role("tab", name="Interpolate").click()
    expect(page.locator(".st-key-cmp_path_start input")).to_have_value(str(start))
    expect(page.locator(".st-key-cmp_path_end input")).to_have_value(str(end))
    for side in "ab":  # both models' decoded strips
        expect(page.locator(f".st-key-cmp_{side}_path_strip img")).to_be_visible()
        page.wait_for_function(IMAGE_LOADED_JS, arg=f".st-key-cmp_{side}_path_strip img", timeout=TIMEOUT)
    page.screenshot(path=str(artifacts_dir / "compare-interpolation-by-clicks.png"))


def test_a_digit_drawn_with_the_mouse_lands_on_both_maps(page, app_url, artifacts_dir):
    open_compare(page, app_url)
    wait_for_app_run(page)
    before = runs_ended(page)
    page.get_by_role("tab", name="Your own digit").click()
    wait_for_run_after(page, before)  # the tab switch's rerun is over before the stroke
    canvas = page.locator(".st-key-cmp_draw_panel canvas").last  # fabric.js: the upper canvas takes the mouse
    expect(canvas).to_be_visible(timeout=TIMEOUT)
    draw_a_one(page, canvas, timeout_ms=TIMEOUT)  # the tab lays its canvas out in steps

    mu_text = re.compile(r"mu = \((-?\d+\.\d{3}), (-?\d+\.\d{3})\)")
    for side, selector in MAPS.items():
        result = page.locator(f".st-key-cmp_{side}_draw_result")
        expect(result).to_contain_text(mu_text, timeout=TIMEOUT)
        mu = [float(v) for v in mu_text.search(result.inner_text()).groups()]
        # the map marks the drawn digit at the code the panel reports (3 decimals there)
        page.wait_for_function(
            """([sel, mu]) => { const t = window.__trace(sel, 'your digit');
               return !!t && t.x.length === 1 && Math.abs(t.x[0] - mu[0]) < 6e-4 && Math.abs(t.y[0] - mu[1]) < 6e-4; }""",
            arg=[selector, mu], timeout=TIMEOUT)
    wait_for_app_run(page)
    page.screenshot(path=str(artifacts_dir / "compare-drawn-digit-on-both-maps.png"))


def test_a_lesson_link_restores_its_step_models_path_and_selected_digit(page, app_url, artifacts_dir):
    digit, start, end = 42, 5, 6
    page.goto(f"{app_url}/compare?step=5&left=mnist_ae_z2.safetensors&right=mnist_vae_z2.safetensors&digit={digit}"
              f"&start={start}&end={end}")
    sidebar = page.locator(".st-key-cmp_lesson")  # the lesson stands above the maps
    expect(sidebar).to_contain_text("Lesson 5/8: Interpolate in both", timeout=TIMEOUT)
    for selector in MAPS.values():
        page.locator(selector).wait_for(timeout=TIMEOUT)
    page.add_script_tag(content=MAP_JS)
    page.add_script_tag(content=COMPARE_JS)
    # the selected digit on both maps and in the panel, the path between the link's ends
    page.wait_for_function(PANEL_SHOWS, arg=[PANEL, f"Test digit {digit}"], timeout=TIMEOUT)
    for selector in MAPS.values():
        page.wait_for_function("([sel, i]) => window.__ringAt(sel, i)", arg=[selector, digit], timeout=TIMEOUT)
        page.wait_for_function(PATH_JS, arg=[selector, "interpolation path", 10, start, end], timeout=TIMEOUT)
    expect(page.get_by_role("tab", name="Interpolate")).to_have_attribute("aria-selected", "true")
    # the link names the files; the choices show their short names
    expect(page.get_by_role("combobox", name="Left map: model")).to_have_value("AE · z = 2 · shipped")
    expect(page.get_by_role("combobox", name="Right map: model")).to_have_value("VAE · z = 2 · shipped")
    # Next moves on and the address bar follows
    wait_for_app_run(page)
    sidebar.get_by_role("button", name="Next").click()
    expect(sidebar).to_contain_text("Lesson 6/8: The reparameterization cloud", timeout=TIMEOUT)
    expect(page).to_have_url(re.compile(r"[?&]step=6(&|$)"), timeout=TIMEOUT)
    expect(page).to_have_url(re.compile(rf"[?&]digit={digit}(&|$)"))
    wait_for_app_run(page)
    page.screenshot(path=str(artifacts_dir / "compare-lesson-link.png"))


def test_the_ten_dimensional_step_shows_both_models_samples_shares_and_paths(page, app_url, artifacts_dir):
    """Lesson step 8: the shipped z = 10 AE and VAE above the maps, each with 16 samples,
    the share judged real, a label bar chart and a path with its marks; the step's
    sentences carry their numbers (measured on these two models)."""
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{app_url}/compare?step=8&left=mnist_ae_z2.safetensors&right=mnist_vae_z2.safetensors")
    sidebar = page.locator(".st-key-cmp_lesson")  # the lesson stands above the maps
    expect(sidebar).to_contain_text("Lesson 8/8: Ten dimensions", timeout=TIMEOUT)
    panel = page.locator(".st-key-cmp_highdim")
    expect(panel).to_contain_text("AE, z = 10", timeout=4 * TIMEOUT)
    expect(panel).to_contain_text("VAE, z = 10")
    expect(panel.get_by_text("Judged real:")).to_have_count(2)
    expect(panel.locator(".js-plotly-plot")).to_have_count(2, timeout=TIMEOUT)
    expect(panel.locator("img")).to_have_count(4, timeout=TIMEOUT)  # two sample grids, two path strips
    expect(sidebar).to_contain_text("In ten dimensions the gap is large", timeout=TIMEOUT)
    wait_for_app_run(page)
    page.screenshot(path=str(artifacts_dir / "lesson-step8-1366x768.png"))


#: The lesson's box, its buttons, its sentences and what the step outlines ("Look here"),
#: measured in the page: whether each is inside the window, and every box in the lesson
#: that would scroll (its content taller than itself).
LESSON_ON_SCREEN_JS = """([w, h, focus]) => {
  const rect = (e) => { const r = e.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  const inside = (r, pad) => r.l >= pad && r.t >= pad && r.r <= w - pad && r.b <= h - pad;
  const box = document.querySelector('.st-key-cmp_lesson');
  const out = {box: rect(box), boxInside: inside(rect(box), 0), scroll: [box.scrollHeight, box.clientHeight],
               scrolling: [...box.querySelectorAll('*')].filter((e) => e.clientHeight > 0 && e.scrollHeight > e.clientHeight && getComputedStyle(e).overflowY !== 'visible')
                 .map((e) => `${(e.getAttribute('data-testid') || e.className).slice(0, 50)} ${e.scrollHeight}>${e.clientHeight}`),
               outside: [], claims: document.querySelectorAll('.st-key-cmp_lesson_claims .stMarkdown').length};
  const check = (sel, pad) => document.querySelectorAll(sel).forEach((e) => {
    const r = rect(e); if (r.r - r.l > 0 && !inside(r, pad)) out.outside.push([sel, r]); });
  ['back', 'next', 'end'].forEach((k) => check(`.st-key-cmp_lesson_${k} button`, 0));
  check('.st-key-cmp_lesson p', 0);
  // the outline stands 3 px out (offset) and is 3 px wide
  focus.forEach((k) => check(`.st-key-${k}`, 6));
  out.focused = focus.filter((k) => document.querySelector(`.st-key-${k}`)).length;
  return out; }"""


# the holes' legend over each map (one line under its title): inside the window
HOLES_LEGEND_JS = """([w, h]) => [...document.querySelectorAll('.js-plotly-plot .annotation')]
  .filter((a) => a.textContent.includes('a hole')).map((a) => { const r = a.getBoundingClientRect();
    return {l: r.left, t: r.top, r: r.right, b: r.bottom, inside: r.left >= 0 && r.top >= 0 && r.right <= w && r.bottom <= h}; })"""


def test_every_lesson_step_shows_its_words_numbers_buttons_and_what_it_points_at_without_scrolling(
        page, app_url, artifacts_dir):
    """All 8 steps with the holes' shading on (the maps at their tallest), at 1366x768 (steps
    1 to 8 by Next) and at 1920x1080 (the window resized in place, steps 8 to 1 by Back: one
    page, no second load): the lesson box, each of its sentences with its number and Back /
    Next / End inside the window, nothing in the box scrolls, what the step outlines ("Look
    here") is inside the window, and so is the holes' legend over each map (steps 1-7;
    step 8 shows its z = 10 pair above them)."""
    from explorer.core.lesson_claims import CLAIMS
    from explorer.ui.views.lesson import STEPS, TOOLS
    from tests.browser.test_projector_browser import PLOT_AREAS_JS, SCREENS

    lesson = page.locator(".st-key-cmp_lesson")
    order = list(enumerate(STEPS, start=1))
    for size, steps, button in (((1366, 768), order, "Next"), ((1920, 1080), order[::-1], "Back")):
        width, height = size
        page.set_viewport_size({"width": width, "height": height})
        if button == "Next":
            page.goto(f"{app_url}/compare?step=1&left=mnist_ae_z2.safetensors&right=mnist_vae_z2.safetensors")
            expect(lesson).to_contain_text(f"Lesson 1/{len(STEPS)}", timeout=TIMEOUT)
        # the page grows its maps once the window's size class has arrived (a rerun)
        page.wait_for_function(f"(m) => ({PLOT_AREAS_JS})().every((p) => p && p.w >= m)", arg=SCREENS[size],
                               timeout=TIMEOUT)
        wait_for_app_run(page, TIMEOUT)
        if button == "Next":
            page.get_by_role("tab", name=TOOLS[3]).click()  # the holes' shading on both maps (Next leaves the tab)
            expect(page.locator(".st-key-cmp_a_show_holes").get_by_role("switch")).to_be_checked(timeout=TIMEOUT)
        for i, (number, step) in enumerate(steps):
            if i > 0:
                lesson.get_by_role("button", name=button).click()
                expect(lesson).to_contain_text(f"Lesson {number}/{len(STEPS)}", timeout=4 * TIMEOUT)
            claims = sum(c.step == number - 1 for c in CLAIMS)
            page.wait_for_function(
                "(n) => document.querySelectorAll('.st-key-cmp_lesson_claims .stMarkdown').length === n",
                arg=claims, timeout=4 * TIMEOUT)
            wait_for_app_run(page, 4 * TIMEOUT)
            page.get_by_test_id("stMain").evaluate("(e) => e.scrollTo(0, 0)")  # the tab click scrolled to the tabs
            seen = page.evaluate(LESSON_ON_SCREEN_JS, [width, height, list(step.focus)])
            where = f"step {number} at {width}x{height}: {seen}"
            assert seen["boxInside"] and seen["scroll"][0] <= seen["scroll"][1] and seen["scrolling"] == [], where
            assert seen["outside"] == [] and seen["claims"] == claims and seen["focused"] >= 1, where
            if not step.highdim:
                legends = page.evaluate(HOLES_LEGEND_JS, [width, height])
                assert len(legends) == 2 and all(g["inside"] for g in legends), (number, size, legends)
            page.screenshot(path=str(artifacts_dir / f"lesson-fit-step{number}-{width}x{height}.png"))


# each map's whole figure (title, plot area, ticks and axis titles) and its plot area's size
MAPS_ON_SCREEN_JS = """([w, h]) => ['a', 'b'].map((side) => {
  const gd = document.querySelector(`.st-key-cmp_${side}_map_panel .js-plotly-plot`);
  if (!gd || !gd._fullLayout) return null;
  const r = gd.getBoundingClientRect(), fl = gd._fullLayout;
  const texts = [...gd.querySelectorAll('.xtick text, .ytick text, .xtitle, .ytitle, .gtitle')]
    .map((e) => e.getBoundingClientRect()).filter((t) => t.width > 0);
  return {w: fl.xaxis._length, h: fl.yaxis._length, top: r.top,
          inside: texts.every((t) => t.left >= 0 && t.top >= 0 && t.right <= w && t.bottom <= h)}; })"""


@pytest.mark.parametrize("number", [1, 2, 6])
def test_in_presentation_mode_on_a_laptop_the_lesson_and_both_maps_fit(page, app_url, artifacts_dir, number):
    """Presentation mode's 20 px lesson text at 1366x768, on the steps with the most text
    (1, 2) and the tallest tool between the maps (6): the step's words, buttons and what it
    outlines, and each map's title, ticks and axis titles inside the window, each map's plot
    area at least 290 px square (presentation mode trades 10 px of the 300 for the text)."""
    from explorer.core.lesson_claims import CLAIMS
    from explorer.ui.views.lesson import STEPS

    width, height = 1366, 768
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{app_url}/compare?step={number}&left=mnist_ae_z2.safetensors&right=mnist_vae_z2.safetensors"
              "&present=1")
    lesson = page.locator(".st-key-cmp_lesson")
    expect(lesson).to_contain_text(f"Lesson {number}/{len(STEPS)}", timeout=4 * TIMEOUT)
    claims = sum(c.step == number - 1 for c in CLAIMS)
    page.wait_for_function(
        "(n) => document.querySelectorAll('.st-key-cmp_lesson_claims .stMarkdown').length === n",
        arg=claims, timeout=4 * TIMEOUT)
    page.wait_for_function(f"() => ({MAPS_ON_SCREEN_JS})([{width}, {height}]).every((m) => m && m.w > 0)",
                           timeout=4 * TIMEOUT)
    wait_for_app_run(page, 4 * TIMEOUT)
    seen = page.evaluate(LESSON_ON_SCREEN_JS, [width, height, list(STEPS[number - 1].focus)])
    assert seen["boxInside"] and seen["outside"] == [] and seen["focused"] >= 1, seen
    maps = page.evaluate(MAPS_ON_SCREEN_JS, [width, height])
    assert all(m["inside"] and m["w"] >= 290 and m["h"] >= 290 for m in maps), (number, maps)
    page.screenshot(path=str(artifacts_dir / f"lesson-present-step{number}-1366x768.png"))
