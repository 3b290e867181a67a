"""Compare page: two models' latent maps side by side, linked, with the lesson tools
(samples from the prior, interpolation, the reparameterization cloud) for both."""

import streamlit as st

from explorer.ui.components import viewport
from explorer.ui.page import layout
from explorer.ui.state import session

from explorer.ui.state.session import COMPARE_PREFIXES
from explorer.ui.views import ShownModel
from explorer.ui.figures import map_figure
from explorer.ui.views import compare, interpolation, lesson, lesson_marks, prior_samples, reparameterization
from explorer.ui.views.draw import your_digit_code_panel, your_digit_panel
from explorer.ui.views.holes import holes_panel, path_score_chart
from explorer.ui.views.hover import hover_decoders
from explorer.ui.views.latent_map import latent_map_view
from explorer.ui.views.twins import adopt_finished_twins, twin_panel
from explorer.ui.state.session import require_router

#: The maps' height on a laptop and on a projector (explorer.ui.components.viewport): their plot
#: areas are square, at least 300 px on a 1366x768 screen and 450 px on 1920x1080.
MAP_HEIGHT = 460
LARGE_MAP_HEIGHT = 620
FONT_SIZE = 15
#: In the lesson the step's tool stands between the maps (or above them) and must fit a
#: 1366x768 screen with them: its cloud (on a laptop, on a projector) and the live twin
#: maps are drawn this high.
LESSON_CLOUD_HEIGHTS = (210, 270)
LESSON_TWIN_MAP_HEIGHT = 330
#: In presentation mode on a laptop-sized screen the lesson's 20 px text takes up to 320 px
#: above the maps: there they are drawn this high, their plot areas about 295-300 px square.
PRESENT_LESSON_MAP_HEIGHT = 410
HOLES_BAR_PX = map_figure.HEATMAP_BAR_PX  # the holes' legend stands above the map's plot area


def compare_page() -> None:
    # Idempotent; a link opened on a fresh server can run this page before app.py has.
    session.init_session_state()
    layout.wide_main()  # two maps side by side: narrow side margins
    lesson.apply_url_state()  # a shared link restores its view, before any widget is drawn
    claims_slot = lesson.lesson_panel()
    adopt_finished_twins()  # a finished "watch the holes form" run joins the model choices
    step = lesson.current_step()
    # In the lesson the step's key view comes first (the link holds the models): the model
    # choice moves below the maps, and the step's controls stand beside or above the maps.
    sample_beside = step is not None and step.samples
    twins_above = st.container() if step is not None and step.tool == lesson.TOOLS[5] else None
    highdim_above = st.container() if step is not None and step.highdim else None
    key_view = st.container(key="cmp_key_view") if step is not None else None
    label_slots = []
    with st.container():
        pair = compare.model_pair(label_slots)
    if pair is None:
        st.stop()
    views = [ShownModel.create(entry, prefix) for entry, prefix in zip(pair, COMPARE_PREFIXES)]
    compare.condition_selectors(views, label_slots)  # a conditional model decodes with a label
    # Clicks are read before any widget is drawn, so they can set the path's ends this run.
    selected = compare.linked_selection(views)
    st.session_state["cmp_theory_source"] = {"choices": [st.session_state["cmp_model_a"],
                                                         st.session_state["cmp_model_b"]], "index": selected}
    lesson.show_claims(claims_slot, views)  # each sentence with its number, measured on these models
    lesson.fill_measured_path(views)  # a lesson path's default ends: found by the measure
    samples = prior_samples.prior_sample_codes()
    path = interpolation.current_path()

    # The key view comes first on the page but is filled last: the tools below decide what
    # the maps show (the holes' shading, your digit's code).
    key_view = key_view or st.container()
    # the lesson's cloud step: the first model with a posterior gets its cloud between the maps
    cloud_view = (next((v for v in views if v.variational), None)
                  if step is not None and step.tool == lesson.TOOLS[2] and selected is not None else None)
    sample_tab, path_tab, cloud_tab, holes_tab, draw_tab, twin_tab = st.tabs(lesson.TOOLS, key="cmp_tool", on_change="rerun")
    with sample_tab:
        prior_samples.prior_sample_controls(draw_button=not sample_beside)
        if samples is not None:
            for view, column in zip(views, st.columns(2)):
                with column:
                    prior_samples.prior_samples_panel(view, samples)
    with path_tab:
        interpolation.interpolation_controls()
        if path is not None:
            for view in views:
                interpolation.interpolation_panel(view, interpolation.path_codes(view, *path),
                                                  on_path_images=path_score_chart)
    with cloud_tab:
        if selected is None:
            st.caption("Click a digit on either map: its posterior q(z|x) is sampled here.")
        else:
            reparameterization.reparameterization_controls(eps_button=cloud_view is None)
            if cloud_view is not None:
                st.caption(f"In this lesson step {cloud_view.entry.title}'s cloud stands between the maps.")
            for view, column in zip(views, st.columns(2)):
                if view is not cloud_view:
                    with column:
                        reparameterization.reparameterization_panel(view, selected)
    with holes_tab:
        # The shading is this tab's topic: on by default while it is the open tool (a user's
        # own flip of the toggle holds). No lesson step turns it on: step 5's path spans less
        # than one of the shading's 16 x 16 cells on the AE's map, where it reads all clear
        # against the strip's 6 of 10 steps judged not real.
        holes_open = st.session_state["cmp_tool"] == lesson.TOOLS[3]
        holes = []
        for view, column in zip(views, st.columns(2)):
            with column:
                st.markdown(f"**{view.entry.title}**")
                holes.append(holes_panel(view, square=True, shade=holes_open))
    with draw_tab:
        drawn = your_digit_panel("cmp_")
        if drawn is not None:
            for view, column in zip(views, st.columns(2)):
                with column:
                    st.markdown(f"**{view.entry.title}**")
                    your_digit_code_panel(view, drawn)
    if highdim_above is not None:
        from explorer.ui.views.highdim import highdim_panel

        with highdim_above:
            highdim_panel(seed=int(st.session_state["cmp_prior_seed"]))
    if twins_above is not None:
        with twins_above:
            twin_panel(intro=False, map_height=LESSON_TWIN_MAP_HEIGHT)
        with twin_tab:
            st.caption("In this lesson step the two training maps stand at the top of the page.")
    else:
        with twin_tab:
            twin_panel()

    lesson_marks.focus_marks()  # outline what the step's "Look at" names
    with key_view:
        if step is not None and step.highdim:
            st.markdown("**Below: the z = 2 maps of steps 1-7**, dimmed: this step is about the z = 10 pair above, "
                        "whose codes have too many dimensions for one map.")
        # The panel is written before the maps, so a click's panel shows while the
        # 10,000-point scatters redraw.
        left, middle, right = st.columns([4, 2.3, 4], gap="small")
        with middle:
            if sample_beside:
                prior_samples.prior_draw_button(width="stretch")
            if cloud_view is not None:
                reparameterization.new_eps_button(width="stretch")
                reparameterization.reparameterization_panel(cloud_view, selected, height=viewport.pick(*LESSON_CLOUD_HEIGHTS),
                                                            font_size=14, compact=True)
            else:
                compare.digit_panel(views, selected, samples, path)
            hover_decoders(views, compare.short_names(views))
        for side, (view, column, heat) in enumerate(zip(views, (left, right), holes)):
            overlays = compare.map_overlays(view, samples, path)
            if drawn is not None:
                overlays.append(map_figure.MapOverlay("your digit", compare.drawn_code(view, drawn),
                                                      color="#d62728", symbol="star", size=18))
            with column:
                small = PRESENT_LESSON_MAP_HEIGHT if step is not None and layout.presenting() else MAP_HEIGHT
                height = viewport.pick(small, LARGE_MAP_HEIGHT) + (HOLES_BAR_PX if heat is not None else 0)
                latent_map_view(view, overlays=overlays, catcher=False, prior_circles=True, height=height,
                                font_size=FONT_SIZE, title=compare.map_title(view), legend=False, modebar=False,
                                holes=heat, square=True,
                                annotations=lesson_marks.map_annotations(view, side, path, samples))
        st.caption(compare.KEY_VIEW_CAPTION)

    lesson.write_url_state((pair[0].label, pair[1].label))


require_router()
compare_page()
