"""Explorer page: latent map, decoder sliders, manifold grid and click panel, linked."""

import functools

import streamlit as st

from explorer.ui.components import viewport
from explorer.ui.page import layout
from explorer.ui.state import caches, registry
from explorer.ui.views.metric_tiles import metric_tiles
from explorer.ui.views import ShownModel
from explorer.ui.views.click import click_answer
from explorer.ui.views.compare import color_key
from explorer.ui.views.decoder import DECODER_FRAGMENT, condition_selector, decoder_panel
from explorer.ui.views.draw import your_digit_code_panel, your_digit_panel
from explorer.ui.views.grid import manifold_panel
from explorer.ui.views.latent_map import (
    explorer_map_height, handle_map_selection, latent_map_view, map_overlay_toggles, record_map_state,
)
from explorer.ui.views.traversal import TRAVERSAL_FRAGMENT, TRAVERSAL_HELP, traversal_fragment
from explorer.ui.state.session import require_router

#: The grid's largest side in px (the column is about 330 px wide at 1366x768, 520 px at
#: 1920x1080), and the window height it leaves free: with n and the spacing above it, its
#: bottom stays on a 768 px high screen and it grows on a taller one.
GRID_HEIGHT = 420
GRID_FIT_BELOW = 460

#: The home page's three starts (page file, label, icon, query parameters): ``step=1`` opens
#: the Compare page with its guided lesson on step 1 (explorer.ui.views.lesson.apply_url_state).
STARTS = (
    ("pages/compare.py", "Run the lesson (AE vs VAE)", ":material/school:", {"step": "1"}),
    ("pages/explorer.py", "Explore a model", ":material/explore:", None),
    ("pages/train.py", "Train your own", ":material/model_training:", None),
)


#: What presentation mode leaves out on this page, said in the sidebar under its toggle.
PRESENT_HIDES = ("Presentation mode hides the map's overlay switches (prior circles, grid locations) and the "
                 "page links under the title: turn it off to get them back.")


def front_door(starts: bool = True) -> None:
    """The page's heading row: the title, one sentence on what the map is, and (``starts``)
    the three starts as links, in one short row so the map below still fits a 1366x768 screen."""
    with layout.front_door_row():  # the title on one line, the sentence and the starts beside it
        title_col, intro_col = st.columns([3, 5], gap="small", vertical_alignment="center")
    title_col.title("Latent space explorer")
    with intro_col.container(gap="xxsmall"):
        st.markdown(
            "The map shows where an autoencoder's encoder puts each of the 10,000 MNIST test digits: "
            "a code z of a few numbers. The decoder turns any z back into an image."
        )
        if starts:
            with st.container(horizontal=True, gap="small"):
                for path, label, icon, params in STARTS:
                    st.page_link(path, label=label, icon=icon, query_params=params)


def explorer_page() -> None:
    layout.wide_main()  # narrow side margins: the map's column gets the room
    presenting = layout.presenting()
    front_door(starts=not presenting)
    if presenting:  # what the view does not need in front of a room, and how to get it back
        st.sidebar.caption(PRESENT_HIDES)
    entry = registry.current_model()
    if entry is None:
        st.info("Choose a usable model in the sidebar.")
        st.stop()

    view = ShownModel.create(entry)
    model_config = entry.checkpoint.model_config
    # A click on the map reruns only click_answer's fragment and the view that follows the
    # click (the decoder's sliders, or the traversals), acting on it in its callback; a
    # click the page has not acted on yet is read before any widget is created.
    handle_map_selection(view)
    if not presenting:
        map_overlay_toggles(view)
    _, grid = record_map_state(view)

    # a traversal needs a wider column than the grid: a row of images per latent dimension
    # (presenting, the map's a little wider: the click's strip beside it holds 20 px text)
    map_col, grid_col, side_col = st.columns([5 + presenting, 4 if view.is_2d else 5, 3], gap="medium")
    # The map is written first: on a first load the browser draws its 10,000 WebGL points
    # while the server still decodes the grid and packs the decoder's weights. A click
    # leaves the map's figure as it was (its marks and clicks are the page's) and reruns
    # only the fragments that show it, so the map is neither rebuilt nor sent again.
    with map_col:
        latent_map_view(view, grid=grid, legend=False, tight=True,
                        height=explorer_map_height(presenting, viewport.screen()), marks=False)
        with st.container(key="explorer_color_key"):
            color_key()  # one row under the map, where a legend of ten entries took three
        # the marks and the answer to a click, right under the map (on screen at 1366x768)
        click_answer(view, follow=(DECODER_FRAGMENT,) if view.is_2d else (TRAVERSAL_FRAGMENT,))
        if view.is_2d:
            st.caption(
                "Each point is the encoder mean mu of one of the 10,000 MNIST test digits, coloured by its label "
                "(the key above). Click a digit to inspect it, or empty space to decode the z there (snapped to "
                "the slider step). The star is the decoder's z."
            )
        else:
            st.caption(
                f"This model's latent space has {model_config.latent_dim} dimensions, so the map shows the first two "
                "principal components (PC1, PC2) of the encoder means mu of the 10,000 MNIST test digits: the plane "
                "in which their codes spread most. Each point is one digit, coloured by its label. Click a digit "
                "to inspect it and start the traversals from it; click empty space to decode the z there "
                "(mean of mu + PC1 and PC2 along the two principal directions; marked with a star)."
            )

    with grid_col:
        if view.is_2d:
            st.subheader("Manifold grid")
            manifold_panel(view, height=GRID_HEIGHT, fit_below=GRID_FIT_BELOW)
        else:  # no plane of z to tile or slide over: sweep one dimension at a time
            st.subheader("Traversals", help=TRAVERSAL_HELP)
            traversal_fragment(view, entry.title, layout="stacked")
    with side_col:
        if view.is_2d:
            st.subheader("Decoder")
            decoder_panel(view)
        else:
            condition_selector(view)

    st.divider()
    info_col, export_col = st.columns([3, 1])
    with info_col:
        st.subheader(entry.title, help=registry.title_help(entry))
        st.caption(
            f"{model_config.kind.upper()}, latent dimension {model_config.latent_dim}, hidden "
            f"{list(model_config.hidden_sizes)}, {model_config.likelihood} decoder, beta {model_config.beta:g}. "
            + entry.checkpoint.provenance
        )
        metric_tiles(entry.checkpoint.metrics, view.variational, columns=3)
    with export_col:
        st.download_button(
            # made on click (deferred): the first page run then needs no pandas
            "Download test-set mu, sigma, labels (CSV)", functools.partial(caches.encodings_csv, entry),
            file_name=f"{entry.label.removesuffix('.pt').removesuffix('.safetensors')}_test_encodings.csv", mime="text/csv",
            key="download_encodings", on_click="ignore",
        )

    # drawn only while open (a rerun opens it): the canvas's iframe and scripts then stay off
    # the page's first load, where they competed with the map's first draw
    drawing = st.expander("Draw your own digit", icon=":material/draw:", key="explorer_draw_open", on_change="rerun")
    with drawing:
        if drawing.open:
            image = your_digit_panel("explorer_")
            if image is not None:
                your_digit_code_panel(view, image)


require_router()
explorer_page()
