"""Semi-supervised (M2) page (Kingma et al. 2014, "Semi-Supervised Learning with Deep
Generative Models"): an M2 / M1+M2 model chosen on the page (the shipped M1+M2 trained with
100 labels first), its test classification error beside the paper's Table 1, accuracy per
digit, the style map of a z = 2 model (test digits' styles coloured by the classifier's
label, the labelled training digits marked) and the "style against class" grid (a test
digit's style decoded with every label)."""

import streamlit as st

from explorer.ui.components import viewport
from explorer.ui.state import registry, session
from explorer.ui.state.session import require_router
from explorer.ui.views.semi_supervised import (DEFAULTS, TERMS, charts_panel, choose_model, class_swap_panel,
                                               error_panel, model_numbers,
                                               recorded_runs_table)
from explorer.ui.views.style_map import style_map_panel

MAP_TAB, SWAP_TAB = "Style map", "Same style, every digit"


def semi_supervised_page() -> None:
    st.title("Semi-supervised VAE (M2)")
    session.init_view_state(DEFAULTS, tuple(DEFAULTS))
    entry = choose_model()
    with st.expander("What the words mean", expanded=False):
        st.markdown(TERMS)
    numbers = model_numbers(entry)
    known = numbers["labels"] or numbers["images"]  # None: every label known
    st.caption(f"Model: {entry.title}; {known:,} of the {numbers['images']:,} training digits had known labels, "
               "the rest none. Every number below is measured on the 10,000 MNIST test digits.",
               help=registry.title_help(entry))
    left, right = st.columns([5, 7], gap="large")
    with left:
        error_panel(numbers)
        charts_panel(numbers, height=viewport.pick(200, 420))  # 200: on a 768 px high screen in presentation mode
    with right:
        two_d = entry.checkpoint.model_config.latent_dim == 2
        # keyed by the kind of z: choosing a z = 2 model opens its map, any other the grid
        map_tab, swap_tab = st.tabs([MAP_TAB, SWAP_TAB], default=MAP_TAB if two_d else SWAP_TAB,
                                    key=f"m2_tabs_{'map' if two_d else 'grid'}")
        with map_tab:
            style_map_panel(entry, height=viewport.pick(340, 600))
        with swap_tab:
            class_swap_panel(entry, scale=viewport.pick(1.4, 2.2))
    recorded_runs_table()


require_router()
semi_supervised_page()
