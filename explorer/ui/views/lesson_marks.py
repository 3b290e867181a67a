"""What a lesson step points at on screen: the containers its "Look at" names, outlined
with a "Look here" tag (:func:`focus_marks`), and arrows and labels on the Compare page's
maps (:func:`map_annotations`), each measured on the models on screen. The steps
themselves, and what they say, are in :mod:`explorer.ui.views.lesson`."""

from __future__ import annotations

import streamlit as st

from explorer.ui.page import layout
from explorer.ui.views.lesson import current_step

#: The colour of the lesson's marks: outlines, their "Look here" tags and the maps' arrows.
FOCUS_COLOR = "#d62728"
FOCUS_CSS = (
    "{sel} {{ position: relative; outline: 3px solid " + FOCUS_COLOR + "; outline-offset: 3px; border-radius: 4px; }}\n"
    "{tag} {{ content: 'Look here'; position: absolute; top: -0.75rem; right: 0.25rem; z-index: 3; "
    "background: " + FOCUS_COLOR + "; color: white; font-size: 0.8rem; font-weight: 600; padding: 0 0.4rem; "
    "border-radius: 3px; }}\n"
)
#: Room above the previews between the maps, for their tag (0.75rem above the box), which
#: touched the digits' colour key above them (steps 2, 4 and 5). Only there: elsewhere the
#: room would push step 6's decoded draws off a 1366x768 screen in presentation mode.
PREVIEW_GAP_CSS = "{sel} {{ margin-top: 0.5rem; }}\n"
#: The z = 2 maps while the step is about something else (step 8's z = 10 pair).
DIMMED_CSS = ".st-key-cmp_key_view { opacity: 0.35; }"


def focus_marks() -> None:
    """Outline what the current step's "Look at" names (:attr:`Step.focus`), each with a
    "Look here" tag, and dim the z = 2 maps on a step about the z = 10 pair. Nothing
    outside the lesson."""
    s = current_step()
    if s is None:
        return
    css = "".join(FOCUS_CSS.format(sel=f".st-key-{k}", tag=f".st-key-{k}::before") for k in s.focus)
    css += "".join(PREVIEW_GAP_CSS.format(sel=f".st-key-{k}") for k in s.focus if k.endswith("_preview"))
    if s.highdim:
        css += DIMMED_CSS
    if css:
        st.html(f"<style>{css}</style>")


def _empty_spot(mu, ranges, cells: int = 20):
    """The centre of an empty stretch between a map's clusters: of the cells of a
    ``cells`` x ``cells`` grid over ``ranges`` whose 3 x 3 block holds no code, the one
    nearest the codes' median; None when every block holds codes."""
    import numpy as np

    mu = np.asarray(mu, dtype=float)
    edges = [np.linspace(low, high, cells + 1) for low, high in ranges]
    counts, _, _ = np.histogram2d(mu[:, 0], mu[:, 1], bins=edges)
    padded = np.pad(counts, 1)
    block = sum(padded[i:i + cells, j:j + cells] for i in range(3) for j in range(3))
    empty = np.argwhere(block == 0)
    if len(empty) == 0:
        return None
    centres = np.stack([(edges[0][empty[:, 0]] + edges[0][empty[:, 0] + 1]) / 2,
                        (edges[1][empty[:, 1]] + edges[1][empty[:, 1] + 1]) / 2], 1)
    return centres[np.argmin(np.linalg.norm(centres - np.median(mu, 0), axis=1))]


#: The lesson marks' text size out of presentation mode (px); presenting, the charts' own.
MARK_FONT_PX = 15


def _mark_font() -> dict:
    """The lesson marks' font: red, as large as the chart's text while presenting."""
    return {"color": FOCUS_COLOR, "size": layout.plot_font_size(MARK_FONT_PX)}


def _arrow(x: float, y: float, text: str, ax: int, ay: int) -> dict:
    return {"x": float(x), "y": float(y), "text": text, "showarrow": True, "arrowhead": 2, "arrowwidth": 2,
            "arrowcolor": FOCUS_COLOR, "ax": ax, "ay": ay, "font": _mark_font(),
            "bgcolor": "rgba(255,255,255,0.85)", "bordercolor": FOCUS_COLOR, "borderpad": 2,
            "name": "lesson mark"}


def map_annotations(view, side: int, path: tuple[int, int, int] | None = None, samples=None) -> list[dict]:
    """Plotly annotations with which the current step points at what it talks about on
    the map of ``view`` (``side`` 0 = left, 1 = right; :attr:`Step.marks`): an arrow to an
    empty stretch between the left map's clusters, labelled with the codes' span; an arrow
    to the right map's prior 3-sigma circle; an arrow to the middle of each map's path
    (``path``: start, end, n); an arrow to where the left model's ``samples`` (K, 2) lie.
    Each is named "lesson mark". Empty outside the lesson."""
    import numpy as np

    s = current_step()
    if s is None:
        return []
    out = []
    mu = view.encodings.mu
    if "gap" in s.marks and side == 0:
        ranges = [(r.low, r.high) for r in view.ranges]
        spot = _empty_spot(mu, ranges)
        if spot is not None:
            out.append(_arrow(spot[0], spot[1], "empty: no test digit here", 0, -60))
        (l1, h1), (l2, h2) = ranges
        out.append({"text": f"axes: z1 from {l1:g} to {h1:g}, z2 from {l2:g} to {h2:g}", "xref": "paper", "yref": "paper", "x": 0.02,
                    "y": 0.98, "xanchor": "left", "yanchor": "top", "showarrow": False,
                    "font": _mark_font(), "bgcolor": "rgba(255,255,255,0.85)",
                    "bordercolor": FOCUS_COLOR, "borderpad": 2, "name": "lesson mark"})
    if "samples" in s.marks and side == 0 and samples is not None:
        from explorer.ui.views.prior_samples import view_samples

        z = np.asarray(view_samples(view, samples))
        centre = np.median(z, 0)
        out.append(_arrow(centre[0], centre[1], f"the {len(z)} samples", 60, -60))
    if "circle" in s.marks and side == 1:
        inside = float(np.mean(np.linalg.norm(np.asarray(mu), axis=1) <= 3.0))
        out.append(_arrow(3 * np.cos(np.pi / 4), 3 * np.sin(np.pi / 4),
                          f"prior's 3-sigma circle: {inside:.0%} of codes inside", -40, -50))
    if "path" in s.marks and path is not None:
        from explorer.ui.views.interpolation import path_codes

        z = path_codes(view, *path)
        middle = z[len(z) // 2]
        out.append(_arrow(middle[0], middle[1], "middle of the path", 50, -50))
    return out
