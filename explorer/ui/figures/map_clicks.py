"""What a click on the latent map (:func:`explorer.ui.figures.map_figure.latent_map`) means: a test
digit (:class:`PointClick`) or a point of latent space (:class:`SpaceClick`), parsed from
the points the page sends, whatever arrives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.ui.figures.map_figure import CATCHER_TRACE


@dataclass(frozen=True)
class PointClick:
    """A click on test digit ``index`` of the latent map."""

    index: int


@dataclass(frozen=True)
class SpaceClick:
    """A click on empty latent space (or a grid cell) at ``z`` = (z1, z2)."""

    z: tuple[float, float]


def point_customdata(value) -> list:
    """A point's customdata as a list: in a real browser a row of a typed array arrives
    as a dict ``{"0": a, "1": b}``; AppTest and older Plotly send a list."""
    if isinstance(value, dict):
        return [value[k] for k in sorted(value, key=int)]
    return list(value)


def map_click(points: list[dict], catcher: bool = True) -> PointClick | SpaceClick | None:
    """What a click on :func:`explorer.ui.figures.map_figure.latent_map` means.

    Args:
        points: the clicked points (dicts with ``curve_number``, ``x``, ``y``,
            ``customdata``, as in Streamlit's ``event.selection.points``; sent by
            :mod:`explorer.ui.components.map_marks`); the last one counts.
        catcher: the map has the click catcher (a 2-D latent space).

    Returns:
        :class:`PointClick` for a digit, :class:`SpaceClick` for the catcher or a grid
        overlay point, None for nothing usable. Malformed points (the page sends them, so
        anything may arrive: wrong types, a negative index, non-finite coordinates) are
        skipped; whether an index is one of the shown digits is the caller's check.
    """
    for point in reversed(points or []):
        click = _point_click(point, catcher) if isinstance(point, dict) else None
        if click is not None:
            return click
    return None


def _point_click(point: dict, catcher: bool) -> PointClick | SpaceClick | None:
    """:func:`map_click` of one point, or None if it is not a usable click."""
    curve = point.get("curve_number")
    if not isinstance(curve, int) or isinstance(curve, bool) or curve < 0:
        return None
    try:
        if curve < CATCHER_TRACE:
            index = point_customdata(point["customdata"])[0]
            if isinstance(index, float) and index.is_integer():
                index = int(index)
            return PointClick(index) if isinstance(index, int) and not isinstance(index, bool) and index >= 0 else None
        if catcher:
            z = (float(point["x"]), float(point["y"]))
            return SpaceClick(z) if all(np.isfinite(z)) else None
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return None
