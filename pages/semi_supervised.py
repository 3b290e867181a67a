"""Semi-supervised (M2) page (Kingma et al. 2014, "Semi-Supervised Learning with Deep
Generative Models"): the shipped M1+M2 model trained with 100 labels, its test
classification error beside the paper's Table 1, accuracy per digit, and the "style
against class" grid (a test digit's style decoded with every label)."""

import streamlit as st

from explorer.ui import registry, session, viewport
from explorer.ui.session import require_router
from explorer.ui.views.semi_supervised import (DEFAULTS, TERMS, charts_panel, choose_model, class_swap_panel,
                                               error_panel, model_numbers)


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
        st.subheader("Same style, every digit")
        class_swap_panel(entry, scale=viewport.pick(1.4, 2.2))


require_router()
semi_supervised_page()
