"""Plotly figures of the model-kind pages (denoising, latent size and beta); the explorer's
own figures are in :mod:`explorer.ui.figures`."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.ui.figures import readable
from explorer.ui.page import layout

#: A legend in one column right of a map that never scrolls: Plotly limits a vertical
#: legend right of the plot to the plot area's height, which an equal-aspect map in a narrow
#: column shrinks (about 255 px of 320 on the Contractive page, 160 of 340 on the Linear
#: AE = PCA page), and scrolls the rest: "perturbed digits" and digits 7-9 were cut at
#: 1366x768. A limit in px (``maxheight`` > 1) lets it reach above and below the plot area,
#: within the figure (ten or eleven entries take 250-275 px at 15-16 px text);
#: tests/browser/test_legends_browser.py checks that every entry lies inside the figure.
SIDE_LEGEND = {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 0.5, "yanchor": "middle", "maxheight": 1000,
               "title": {"text": ""}}

#: Colours of the two models on the denoising chart (Plotly's default first two).
DENOISING_COLORS = {"denoising AE": "#636efa", "plain AE": "#ef553b"}


def _readable(fig: go.Figure, font_size: int) -> go.Figure:
    """Ticks, axis titles and legend at ``font_size`` px, or presentation mode's larger size
    (:func:`explorer.ui.figures.readable`, :func:`explorer.ui.page.layout.plot_font_size`)."""
    return readable(fig, layout.plot_font_size(font_size))


def error_curve_figure(levels: np.ndarray, curves: dict[str, np.ndarray], level_name: str,
                       current: float | None = None, height: int = 420, font_size: int = 15) -> go.Figure:
    """Mean reconstruction error against noise level, one line per model.

    Args:
        levels: (L,) noise levels (x axis).
        curves: model name -> (L,) mean error in nats per image.
        level_name: the x axis title, e.g. ``"masking probability p"``.
        current: the level now chosen, drawn as a dashed vertical line.
        height: figure height in pixels.
        font_size: font size of ticks, titles and legend.

    Returns:
        A ``go.Figure`` with one ``Scatter`` trace per model.
    """
    fig = go.Figure()
    for name, values in curves.items():
        fig.add_trace(go.Scatter(x=levels, y=values, mode="lines+markers", name=name,
                                 line={"color": DENOISING_COLORS.get(name)},
                                 hovertemplate=f"{name}<br>{level_name} %{{x:.2f}}<br>%{{y:.1f}} nats<extra></extra>"))
    if current is not None:
        fig.add_vline(x=current, line={"dash": "dash", "color": "grey"})
    fig.update_layout(height=height, margin={"l": 60, "r": 10, "t": 10, "b": 50}, font={"size": font_size},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    fig.update_xaxes(title_text=level_name)
    fig.update_yaxes(title_text="error vs clean image (nats/image)", rangemode="tozero")
    return _readable(fig, font_size)


#: One colour per latent size on the lower-bound chart (Plotly's default sequence).
LATENT_SIZE_COLORS = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3")


def lower_bound_curves(history: list[dict], images_per_epoch: int) -> dict[str, np.ndarray]:
    """Kingma & Welling (2013) Figure 2's axes from a checkpoint's stored training history.

    Args:
        history: one dict per epoch with ``epoch``, ``train_loss`` (mean training loss over
            the epoch, nats per image: the -ELBO for beta = 1) and ``test_neg_elbo``.
        images_per_epoch: training images per epoch (60,000, or the run's subset).

    Returns:
        ``samples`` (training images evaluated by the end of each epoch), ``train`` and
        ``test``: the lower bound per image (-loss, -test -ELBO; higher is better), each (E,).
        Epochs missing a value are dropped.
    """
    rows = [r for r in history if r.get("train_loss") is not None and r.get("test_neg_elbo") is not None]
    return {"samples": np.array([r["epoch"] * images_per_epoch for r in rows], dtype=float),
            "train": -np.array([r["train_loss"] for r in rows], dtype=float),
            "test": -np.array([r["test_neg_elbo"] for r in rows], dtype=float)}


def lower_bound_figure(curves: dict[str, dict[str, np.ndarray]], height: int = 430, font_size: int = 15) -> go.Figure:
    """Lower bound per image against training samples evaluated (log axis), one colour per
    model: test solid, train dashed (the layout of Kingma & Welling 2013, Figure 2); the
    legend names each model once (its test trace), ticks at 1 and 3 times powers of ten.

    Args:
        curves: model name -> :func:`lower_bound_curves` output.
        height: figure height in pixels.
        font_size: font size of ticks, titles and legend.

    Returns:
        A ``go.Figure`` with two ``Scatter`` traces per model (test, train).
    """
    fig = go.Figure()
    for i, (name, c) in enumerate(curves.items()):
        color = LATENT_SIZE_COLORS[i % len(LATENT_SIZE_COLORS)]
        for part, dash in (("test", "solid"), ("train", "dash")):
            fig.add_trace(go.Scatter(
                x=c["samples"], y=c[part], mode="lines", name=f"{name} {part}", line={"color": color, "dash": dash},
                legendgroup=name, showlegend=part == "test",
                hovertemplate=f"{name}, {part}<br>%{{x:.3s}} samples<br>bound %{{y:.2f}} nats<extra></extra>"))
    fig.update_layout(height=height, margin={"l": 70, "r": 10, "t": 40, "b": 50}, font={"size": font_size},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0,
                              "font": {"size": font_size}, "title": {"text": "solid: test, dashed: train"}})
    samples = np.concatenate([c["samples"] for c in curves.values()]) if curves else np.array([1.0])
    ticks = [m * 10.0**e for e in range(int(np.log10(samples.min())), int(np.log10(samples.max())) + 1) for m in (1, 3)
             if samples.min() <= m * 10.0**e <= samples.max()]
    fig.update_xaxes(title_text="training samples evaluated (log scale)", type="log", tickvals=ticks,
                     ticktext=[f"{t / 1e6:g}M" if t >= 1e6 else f"{t / 1e3:g}k" for t in ticks])
    fig.update_yaxes(title_text="lower bound (nats/image)")
    return _readable(fig, font_size)


def kl_per_dimension_figure(kl: np.ndarray, active: np.ndarray, height: int = 300, font_size: int = 15) -> go.Figure:
    """KL per latent dimension as bars, active units in colour, inactive in grey.

    Args:
        kl: (latent_dim,) mean KL_d in nats per image.
        active: (latent_dim,) bool, the dimension is active (Burda et al. 2015).
        height: figure height in pixels.
        font_size: font size.

    Returns:
        A ``go.Figure`` with one ``Bar`` trace (x: z1, z2, ...).
    """
    names = [f"z{d + 1}" for d in range(len(kl))]
    colors = ["#636efa" if a else "#b0b0b0" for a in active]
    fig = go.Figure(go.Bar(x=names, y=kl, marker_color=colors, name="KL per dimension",
                           customdata=np.where(active, "active", "inactive"),
                           hovertemplate="%{x}: %{y:.2f} nats (%{customdata})<extra></extra>"))
    fig.update_layout(height=height, margin={"l": 60, "r": 10, "t": 10, "b": 40}, font={"size": font_size},
                      showlegend=False)
    fig.update_yaxes(title_text="KL_d (nats/image)", rangemode="tozero")
    fig.update_xaxes(title_text="latent dimension (grey: inactive)", type="category")
    return _readable(fig, font_size)


def image_rows_figure(png: bytes, n_rows: int, n_cols: int, row_labels: list[str] | None = None,
                      col_labels: list[str] | None = None, cell: int = 28, padding: int = 2,
                      scale: float = 2.0, font_size: int = 15) -> go.Figure:
    """An image grid (torchvision's ``make_grid``, unscaled) with its rows and columns
    named on the axes, so each row of digits carries a readable label beside it.

    Args:
        png: the grid as PNG, ``n_rows`` x ``n_cols`` cells of ``cell`` pixels with ``padding``
            pixels around each.
        n_rows, n_cols: cells per column and per row.
        row_labels: one label per row (left axis), top row first.
        col_labels: one label per column (top axis).
        cell: cell size in pixels (28 for MNIST).
        padding: pixels between cells.
        scale: screen pixels per image pixel the figure's height allows (the image keeps
            square pixels and sits at the top left of a wider plot area).
        font_size: font size of the labels.

    Returns:
        A ``go.Figure`` with one ``Image`` trace (drawn pixelated, not smoothed).
    """
    import base64

    width_px = n_cols * (cell + padding) + padding
    height_px = n_rows * (cell + padding) + padding
    centres = lambda n: padding + np.arange(n) * (cell + padding) + (cell - 1) / 2  # noqa: E731
    fig = go.Figure(go.Image(source="data:image/png;base64," + base64.b64encode(png).decode(), hoverinfo="skip"))
    longest = max((len(line) for label in row_labels or [] for line in label.split("<br>")), default=0)
    left = 10 + int(0.55 * font_size * longest)
    top = 30 if col_labels else 0
    fig.update_layout(
        xaxis={"range": [-0.5, width_px - 0.5], "constrain": "domain", "constraintoward": "left", "side": "top", "showgrid": False,
               "zeroline": False, "visible": bool(col_labels), "tickvals": centres(n_cols) if col_labels else None,
               "ticktext": col_labels, "ticks": ""},
        yaxis={"range": [height_px - 0.5, -0.5], "scaleanchor": "x", "constrain": "domain", "constraintoward": "top",
               "showgrid": False,
               "zeroline": False, "visible": bool(row_labels), "tickvals": centres(n_rows) if row_labels else None,
               "ticktext": row_labels, "ticks": ""},
        margin={"l": left, "r": 0, "t": top, "b": 0}, dragmode=False, font={"size": font_size},
        height=int(round(scale * height_px)) + top,
    )
    return _readable(fig, font_size)


def add_code_arrows(fig: go.Figure, start: np.ndarray, end: np.ndarray, magnify: float = 1.0,
                    color: str = "black") -> go.Figure:
    """Arrows on a latent map from each code to its perturbed code (the Contractive AE page).

    Args:
        fig: a map from :func:`explorer.ui.figures.latent_scatter` (axes in code units).
        start: (K, 2) codes h(x).
        end: (K, 2) codes h(x') of the perturbed images.
        magnify: each arrow is drawn ``magnify`` times its length (1: true length).
        color: the arrows' colour.

    Returns:
        ``fig`` with one annotation per arrow and a marker trace at the arrows' tails.
    """
    tips = start + magnify * (end - start)
    for (x0, y0), (x1, y1) in zip(start.tolist(), tips.tolist()):
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=2, arrowsize=1, arrowwidth=1.5, arrowcolor=color, text="")
    fig.add_trace(go.Scatter(x=start[:, 0], y=start[:, 1], mode="markers", name="perturbed digits",
                             marker={"size": 7, "color": color, "symbol": "circle-open"}, hoverinfo="skip"))
    return fig
