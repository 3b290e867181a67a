"""Interpolation, a lesson tool of the Compare page: the path's two test digits (set by
clicks on a map or typed) and its steps, the codes on the straight line between their mu
in each model, and the path decoded as a strip. State: the ``cmp_path_*`` session keys."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
import torch

from explorer.core.latent import interpolate
from explorer.ui.state import caches
from explorer.ui.views.common import ShownModel, decoded_codes

STRIP_SCALE = 2
MIN_PATH_N, MAX_PATH_N = 2, 30
#: Receives the decoded path images of one model: (view, (n, 1, 28, 28) pixels in [0, 1]).
PathHook = Callable[[ShownModel, torch.Tensor], None]


def interpolation_controls() -> tuple[int, int, int] | None:
    """Start and end digit (test-set indices) and the number of steps; returns them
    when both ends are set and differ, else None (with a hint)."""
    n_images = len(caches.mnist_test_split()[1])
    start_col, end_col, n_col = st.columns(3)
    start_col.number_input("Start digit (test index)", 0, n_images - 1, key="cmp_path_start",
                           help="The first digit you click on a map sets the start, the second the end.")
    end_col.number_input("End digit (test index)", 0, n_images - 1, key="cmp_path_end",
                         help="The first digit you click on a map sets the start, the second the end.")
    n_col.number_input("Steps n", MIN_PATH_N, MAX_PATH_N, key="cmp_path_n",
                       help="Codes on the straight line between the two digits' codes, both ends included.")
    path = current_path()
    if path is None:
        st.caption("Click two different digits on a map (first = start, second = end), or type their indices.")
    return path


def current_path() -> tuple[int, int, int] | None:
    """(start index, end index, n) of the interpolation path when both ends are set and
    differ, else None (read from state, so the maps can draw it before the controls)."""
    start, end = st.session_state["cmp_path_start"], st.session_state["cmp_path_end"]
    if start is None or end is None or start == end:
        return None
    return int(start), int(end), int(st.session_state["cmp_path_n"])


def path_codes(view: ShownModel, start: int, end: int, n: int) -> np.ndarray:
    """(n, 2) codes on the straight line between two test digits' mu in this model."""
    return interpolate(view.encodings.mu[start], view.encodings.mu[end], n)


def interpolation_panel(view: ShownModel, path: np.ndarray, on_path_images: PathHook | None = None) -> None:
    """The decoded path as a strip; ``on_path_images`` (e.g. a classifier's score along
    the path) receives the decoded images."""
    images = decoded_codes(view, path, "path_strip",
                           f"{view.entry.title}: decoder means along the path, start to end.",
                           nrow=len(path), scale=STRIP_SCALE)
    if on_path_images is not None:
        on_path_images(view, images)
