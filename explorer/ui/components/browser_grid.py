"""The manifold grid drawn on a canvas in the page: the server decodes the grid in torch
and sends its 8-bit pixels in one binary element; the page tiles them onto a canvas, shows
the z of the cell under the cursor, reports a click on a cell, and moves the grid's
overlay on the latent map (Plotly's restyle) without a rerun of the page.

Why the server decodes (measured on this machine, see bench/browser.py and the README):
a 30 x 30 grid of the shipped 2-256-512-784 decoder is about 480 M multiply-adds
(165 M after skipping ReLU zeros); plain JavaScript took 0.3-1.1 s for it, PyTorch takes
about 5 ms. The old path's cost was not the decoding but a Plotly figure carrying a
base64 PNG, rebuilt by Plotly.js on every change; this path sends raw pixels (n * n *
784 bytes) that the page puts on a canvas at once. It works for every decoder (MLP
and conv alike), so the grid looks the same for all models.

Why the page also decodes: the round trip (control -> fragment rerun -> new element) is
most of the time a new n takes to show. For a decoder the page already holds (the MLP
decoders of :mod:`explorer.ui.components.browser_decoder`), the page reads the grid's controls from
the DOM and decodes the new grid with WebGL2 (``grid_gl.js``: one fragment-shader
pass per layer over all codes, float32 textures) at once; the server's pixels of the same
grid follow (equal within 1/255, they replace the drawing: they are the download's) and
an older answer never replaces a newer drawing. The page does so only where it expects
its decoding to take at most 100 ms (ms per code measured in the page): headless
chromium's software renderer (SwiftShader) took 0.4-0.9 ms per code on the 2-core
machine, 240-780 ms for 30 x 30, and would only slow the server's answer. Without WebGL2
and float render targets, or for other decoders, the server's pixels are drawn as before.

Packed layout (:func:`pack_grid`): safetensors bytes, as the decoder's weights
(:func:`explorer.core.export.pack_tensors`; parsed in the page by
``safetensors.js``): one uint8 tensor ``pixels`` (n * n, C * H * W), cell after
cell (row-major, top row first), and the description (:func:`describe`) in the metadata.
"""

from __future__ import annotations

import json

from pathlib import Path

import numpy as np
import streamlit as st
import torch

from explorer.core.export import pack_tensors, unpack_tensors
from explorer.core.latent import decode_z
from explorer.core.manifold import GRID_MAX, GRID_MIN, PAPER_MARGIN, SPACINGS

#: The safetensors parser (safetensors.js), the WebGL2 grid decoder and coordinates
#: (grid_gl.js), then the component (browser_grid.js).
_JS = "\n".join((Path(__file__).parent / name).read_text()
                 for name in ("safetensors.js", "grid_gl.js", "browser_grid.js"))
_CSS = """
.vx-grid-view { display: flex; flex-direction: column; align-items: center; width: 100%; }
.vx-grid { image-rendering: pixelated; display: block; width: 100%; height: auto; aspect-ratio: 1;
           cursor: pointer; }
.vx-grid-hover { font-size: 0.875rem; color: var(--st-text-color); opacity: 0.75; min-height: 1.4em;
                 font-family: var(--st-font); line-height: 1.4; text-align: center; }
"""
_component = st.components.v2.component("vae_explorer_manifold_grid", js=_JS, css=_CSS, isolate_styles=False)


def grid_pixels(model: torch.nn.Module, z: np.ndarray, y: int | None = None) -> np.ndarray:
    """The decoder means of the grid codes as 8-bit pixels, quantised as the PNG download is
    (torchvision's ``save_image``: round(255 * x)).

    Args:
        model: any model of the family with a 2-D latent space.
        z: (n * n, 2) codes (``manifold.manifold_z``), row-major, top row first.
        y: the label of a conditional model.

    Returns:
        (n * n, C * H * W) uint8.
    """
    x = decode_z(model, z, y=y)
    return x.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).reshape(len(z), -1).numpy()


def describe(n: int, spacing: str, low: float, high: float, coords: np.ndarray, image_shape, padding: int,
             size: int, overlay: dict | None = None, model: str = "", fit_below: int | None = None,
             net: str | None = None, y: int | None = None, controls: dict | None = None) -> str:
    """The JSON description the page reads: grid side, spacing, range, the (n,) ascending
    axis coordinates (``manifold.manifold_coordinates``), cell shape (C, H, W), padding in
    pixels, the canvas's largest side in CSS pixels (it also fits its column), and the map
    overlay to move (``{"map": CSS selector, "trace": name}``) or None, the model's label,
    and ``fit_below``: the canvas keeps within the window's height less this many CSS pixels (or None).

    For the redraw in the page (``grid_gl.js``): ``net``, the id of the model's
    decoder in the page (``browser_decoder.browser_payload``; None: the page cannot decode
    it), ``y``, the label of a conditional model, and ``controls``, the widget keys
    ``{"n", "spacing", "range"}`` of the grid's controls (None: no redraw in the page); with
    them go the grid's limits (``manifold.GRID_MIN``, ``GRID_MAX``), the spacings in the
    radio's order (``manifold.SPACINGS``) and the "paper" margin (``manifold.PAPER_MARGIN``)."""
    return json.dumps({"n": int(n), "spacing": spacing, "low": float(low), "high": float(high),
                       "coords": [float(c) for c in coords], "shape": [int(s) for s in image_shape],
                       "padding": int(padding), "size": int(size), "overlay": overlay,
                       "model": model, "fit_below": fit_below, "net": net, "y": None if y is None else int(y),
                       "controls": controls, "n_min": GRID_MIN, "n_max": GRID_MAX, "spacings": list(SPACINGS),
                       "margin": PAPER_MARGIN}, separators=(",", ":"))


def pack_grid(description: dict, pixels: np.ndarray) -> bytes:
    """The grid as bytes (layout in the module docstring).

    Raises:
        ValueError: ``pixels`` is not (n * n, C * H * W) uint8 for the description's n and shape.
    """
    n, cell = description["n"], int(np.prod(description["shape"]))
    if pixels.dtype != np.uint8 or pixels.shape != (n * n, cell):
        raise ValueError(f"expected ({n * n}, {cell}) uint8 pixels, got {pixels.shape} {pixels.dtype}")
    return pack_tensors({"pixels": pixels}, description)


def unpack_grid(data: bytes) -> tuple[dict, np.ndarray]:
    """Inverse of :func:`pack_grid`: (description, (n * n, C * H * W) uint8 pixels).

    Raises:
        ValueError: not a packed grid.
    """
    description, tensors = unpack_tensors(data, "grid")
    pixels = tensors.get("pixels")
    if pixels is None or pixels.dtype != np.uint8 or pixels.ndim != 2 or len(pixels) != description.get("n", -1) ** 2:
        raise ValueError("not a packed grid: no (n * n, C * H * W) uint8 tensor 'pixels' in it")
    return description, pixels


def grid_canvas(payload: bytes, key: str, on_cell=None):
    """Mount the grid canvas. A click on a cell sets the trigger ``cell`` to
    ``{"row", "col", "z": [z1, z2]}`` and calls ``on_cell`` (a Streamlit callback that
    reads it from ``st.session_state[key].cell``).

    Args:
        payload: from :func:`explorer.ui.state.caches.grid_payload`.
        key: the element's key.
        on_cell: callback run before the rerun a cell click causes.

    Returns:
        The component's result (``.cell``: the click's trigger value, or None).
    """
    return _component(key=key, data=payload, on_cell_change=on_cell or (lambda: None))
