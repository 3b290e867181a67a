"""Decoding under the cursor for pages with several maps (the Compare page): every
model's decoder mean of the z under the mouse on any of the maps, computed in the
browser (:mod:`explorer.ui.components.browser_decoder`), so one z is seen through each decoder."""

from __future__ import annotations

import streamlit as st

from explorer.ui.components import browser_decoder
from explorer.ui.views.common import ShownModel

#: Hover images are shown this many times their 28 px size.
HOVER_SCALE = 4


def hover_decoders(views: list[ShownModel], names: list[str]) -> None:
    """One small decoded image per view (containers ``<prefix>hover_decoded``) of the z
    under the mouse on any of the views' maps; z = (0, 0) until the mouse is over one.
    A model whose decoder the browser cannot run says so instead."""
    maps = [v.keys.map_selector for v in views]
    st.caption("Under the cursor: move the mouse over either map to see what each decoder makes of that z.",
               help="The decoder mean E[x|z], computed in your browser from the models' weights.")
    for view, column, name in zip(views, st.columns(len(views)), names):
        with column, st.container(key=view.keys("hover_decoded")):
            net_id = browser_decoder.send_weights(view.entry, view.keys("hover_weights"))
            if net_id is None:
                st.caption(f"{name}: this decoder is not run in the browser; click the map to decode.")
                continue
            browser_decoder.decoded_view(net_id, view.keys("hover_view"), (), (0.0, 0.0), maps,
                                         y=view.condition(), size=28 * HOVER_SCALE, label=name)
