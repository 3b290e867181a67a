"""The Semi-supervised (M2) page's parts (Kingma, Rezende, Mohamed & Welling 2014): the
shipped M1+M2 model's test classification error beside the paper's Table 1, its accuracy
per digit and confusion matrix (Plotly), the error after each training epoch, and the
"style against class" grid of the paper's Figure 1: a test digit's style z, inferred by
q(z|x, y), decoded with every label y (through the M1 VAE's decoder for M1+M2). Widget
keys start with ``m2_``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from explorer.core.images import tiled_png
from explorer.core.semi_supervised import class_accuracy, error_percent
from explorer.ui import figures
from explorer.ui.page import layout
from explorer.ui.state import caches, registry
from explorer.ui.figures.model_kind_figures import image_rows_figure
from explorer.ui.state.model_entry import ModelEntry
from explorer.ui.state.shipped import require_shipped

#: The shipped M1+M2 model the page shows, in checkpoints/.
SHIPPED = "mnist_m1m2_l100.safetensors"
#: Kingma et al. 2014, Table 1: MNIST test error (%) by number of labels.
PAPER_TABLE = {"M2": {100: 11.97, 600: 4.94, 1000: 3.60, 3000: 3.92},
               "M1+M2": {100: 3.33, 600: 2.59, 1000: 2.40, 3000: 2.18}}
#: This project's recorded runs (docs/semi-supervised.md, where each run's command, epochs and
#: time are): the best test error (%) by number of labels, and the epochs behind it. Measured on
#: files that are not all shipped, so the page shows them as a record beside the model on screen.
RECORDED_RUNS = {"M2": {100: (22.36, "5 of 10 epochs"), 600: (11.74, "2 epochs"), 1000: (10.31, "3 epochs"),
                        3000: (7.58, "2 epochs")},
                 "M1+M2": {100: (12.63, "12 of 30 epochs"), 600: (7.65, "3 epochs"), 1000: (7.05, "3 of 6 epochs"),
                           3000: (6.49, "3 epochs")}}
#: The paper trains its M1 with z = 50 (Sec. 4.1: 600 hidden units, softplus); ours is the shipped z = 20 VAE.
PAPER_M1_LATENT = 50
#: MNIST's training images (a model trained on a subset says how many in its train config).
TRAIN_IMAGES = 60_000
#: Widget defaults (kept across pages by session.init_view_state).
DEFAULTS = {"m2_first": 0, "m2_rows": 4}
FONT_SIZE = 14

TERMS = (
    "**Labels**: of the 60,000 training digits only a few are given with their digit (the shipped model: 100, 10 of "
    "each, chosen at random with seed 0); the rest train without one. **M1**: a VAE trained on all digits without "
    "labels (the shipped model's: the z = 20 VAE); its encoder's mean mu is a 20-number code of each image. **M2**: a "
    "conditional VAE with a **classifier q(y|x)** that guesses the digit y of every unlabelled image; the "
    "unlabelled bound averages over every y weighted by q(y|x) (Kingma et al. 2014, Eq. 7), the known labels also "
    "train q(y|x) directly (Eq. 9). **M1+M2**: M2 trained on M1's codes instead of the pixels. **Style z**: "
    "what q(z|x, y) keeps of a digit once its label is given (slant, stroke width, size). **Style map**: for a "
    "model with z = 2, the style z of every test digit on a plane (Kingma et al. 2014, Figure 1 left), coloured by "
    "the label q(y|x) gives it."
)


#: The sidebar's choice of semi-supervised model on this page.
MODEL_KEY = "m2_model"


def choose_model() -> ModelEntry:
    """The sidebar's choice among the semi-supervised models (M2 and M1+M2:
    :func:`explorer.ui.state.registry.model_options` of the ``"semi_supervised"`` group: files in
    checkpoints/, the shipped one first, and this session's trained or uploaded ones).
    Without any, the shipped file's error (what to run) and ``st.stop()``; a file that does
    not load: its error and ``st.stop()``."""
    options = registry.model_options(group="semi_supervised")
    if not options:
        return require_shipped(SHIPPED)
    shipped = [c for c, name in options.items() if name == SHIPPED and c.startswith(registry.FILE_PREFIX)]
    options = {c: options[c] for c in shipped + [c for c in options if c not in shipped]}
    labels = registry.model_labels(options)
    if st.session_state.get(MODEL_KEY) not in options:
        st.session_state[MODEL_KEY] = next(iter(options))
    choice = st.sidebar.selectbox("Semi-supervised model", list(options), format_func=labels.__getitem__,
                                  key=MODEL_KEY, help=registry.choice_help(
                                      st.session_state[MODEL_KEY], options,
                                      "The M2 and M1+M2 models: the shipped one, files saved from the Train page, "
                                      "and those trained or uploaded in this session."))
    try:
        return registry.resolve_model(choice)
    except (registry.CheckpointError, KeyError) as exc:
        st.error(f"Cannot use this model: {exc}", icon=":material/error:")
        st.stop()


def model_numbers(entry: ModelEntry) -> dict:
    """What the page states about an M2 / M1+M2 model, all measured on the 10,000 MNIST
    test digits: ``confusion`` (10, 10) counts, ``error`` in %, ``accuracy`` (10,) per digit
    in [0, 1], ``labels`` (known training labels, None: all), ``images`` (training images), ``epochs``, ``seconds`` of
    training (wall clock, the last epoch's record), ``m1_latent`` (None for M2 on pixels),
    ``history_error`` (the error after each epoch, %, from the file's history)."""
    confusion = caches.m2_confusion(entry)
    counts = torch.as_tensor(confusion)
    train = entry.checkpoint.train_config
    history = entry.checkpoint.history
    return {"confusion": confusion, "error": error_percent(counts), "accuracy": class_accuracy(counts).numpy(),
            "labels": train.labels, "images": train.subset or TRAIN_IMAGES, "epochs": len(history),
            "seconds": history[-1]["seconds"] if history else 0.0,
            "m1_latent": entry.checkpoint.model_config.m1_latent_dim,
            "history_error": [r.get("test_classification_error") for r in history]}


def error_panel(numbers: dict) -> None:
    """Our test error beside the paper's for the same number of labels, and why they differ."""
    kind = "M1+M2" if numbers["m1_latent"] else "M2"
    paper = PAPER_TABLE[kind].get(numbers["labels"])
    ours_col, paper_col = st.columns(2)
    ours_col.metric(f"Our test error, {numbers['labels']} labels", f"{numbers['error']:.2f} %",
                    help="Share of the 10,000 MNIST test digits whose most probable label under q(y|x) is wrong, "
                         "measured here on this model. Chance is 90 %.")
    paper_col.metric(f"Paper's {kind}, {numbers['labels']} labels", "n/a" if paper is None else f"{paper:.2f} %",
                     help=f"Kingma et al. 2014, Table 1: the MNIST test error of {kind} with the same number of "
                          "labels.")
    if paper is not None and kind == "M1+M2":
        errors = [e for e in numbers["history_error"] if e is not None]
        epochs = f"{numbers['epochs']} epoch" + ("s" if numbers["epochs"] != 1 else "")
        fell = f" (its error fell from {errors[0]:.2f} % after epoch 1)" if len(errors) > 1 else ""
        st.caption(f"Ours is {numbers['error'] / paper:.1f} times the paper's error: trained for {epochs}{fell}, "
                   f"{numbers['seconds'] / 60:.0f} min of training (its file's record), far shorter than the paper's, "
                   f"on an M1 with z = {numbers['m1_latent']} (the paper's has z = {PAPER_M1_LATENT}).")


def accuracy_figure(accuracy: np.ndarray, confusion: np.ndarray, height: int) -> go.Figure:
    """Bars of the share of each digit's test images q(y|x) labels correctly (%), the most
    frequent wrong label in the hover text."""
    wrong = confusion.copy()
    np.fill_diagonal(wrong, -1)
    hover = [f"digit {d}: {100 * a:.1f} % of {confusion[d].sum():,} right; most often taken for a "
             f"{int(wrong[d].argmax())} ({int(wrong[d].max())} times)" for d, a in enumerate(accuracy)]
    fig = go.Figure(go.Bar(x=list(range(len(accuracy))), y=100 * accuracy, hovertext=hover, hoverinfo="text",
                           text=[f"{100 * a:.0f}" for a in accuracy], textposition="inside", marker_color="#636efa"))
    fig.update_layout(height=height, margin={"l": 50, "r": 10, "t": 10, "b": 45}, showlegend=False)
    fig.update_xaxes(title_text="true digit", dtick=1)
    fig.update_yaxes(title_text="right (%)", range=[0, 100])
    return figures.readable(fig, layout.plot_font_size(FONT_SIZE))


def confusion_figure(confusion: np.ndarray, height: int) -> go.Figure:
    """Heatmap of the confusion matrix: row the true digit, column q(y|x)'s label, counts."""
    fig = go.Figure(go.Heatmap(z=confusion, x=list(range(10)), y=list(range(10)), colorscale="Blues",
                               text=confusion, texttemplate="%{text}", showscale=False,
                               hovertemplate="true %{y}, labelled %{x}: %{z} test digits<extra></extra>"))
    fig.update_layout(height=height, margin={"l": 50, "r": 10, "t": 10, "b": 45})
    fig.update_xaxes(title_text="label given by q(y|x)", dtick=1)
    fig.update_yaxes(title_text="true digit", dtick=1, autorange="reversed")
    return figures.readable(fig, layout.plot_font_size(FONT_SIZE))


def epochs_figure(errors: list[float | None], height: int) -> go.Figure:
    """The test error after each training epoch (%), from the checkpoint's history."""
    fig = go.Figure(go.Scatter(x=list(range(1, len(errors) + 1)), y=errors, mode="lines+markers",
                               hovertemplate="epoch %{x}: %{y:.2f} %<extra></extra>"))
    fig.update_layout(height=height, margin={"l": 50, "r": 10, "t": 10, "b": 45}, showlegend=False)
    fig.update_xaxes(title_text="epoch", dtick=1)
    fig.update_yaxes(title_text="test error (%)")
    return figures.readable(fig, layout.plot_font_size(FONT_SIZE))


def charts_panel(numbers: dict, height: int) -> None:
    """Tabs: accuracy per digit, the confusion matrix, the error after each epoch."""
    per_digit, matrix, epochs = st.tabs(["Per digit", "Confusion", "Per epoch"])
    with per_digit:
        st.plotly_chart(accuracy_figure(numbers["accuracy"], numbers["confusion"], height), key="m2_accuracy",
                        config={"displayModeBar": False})
    with matrix:
        st.plotly_chart(confusion_figure(numbers["confusion"], height), key="m2_confusion",
                        config={"displayModeBar": False})
    with epochs:
        st.plotly_chart(epochs_figure(numbers["history_error"], height), key="m2_epochs",
                        config={"displayModeBar": False})


def class_swap_panel(entry: ModelEntry, scale: float) -> None:
    """Rows of test digits: the digit, then its style z = mu of q(z|x, y) (its true label y)
    decoded with y = 0..9; with the shipped classifier's measured agreement."""
    images, labels = caches.mnist_test_split()
    first_col, rows_col = st.columns(2)
    rows = first_col.slider("Rows", 2, 6, key="m2_rows", help="How many test digits, one row each.")
    first = int(rows_col.number_input("First test digit", 0, len(images) - rows, key="m2_first",
                                      help="Rows are test digits no. n, n+1, ... of the 10,000 (each row is "
                                           "labelled 'no. n: its true digit')."))
    index = tuple(range(first, first + rows))
    swapped = caches.m2_class_swap(entry, index)
    tiles = torch.cat([images[list(index), None], swapped.reshape(rows, 10, *swapped.shape[1:])], dim=1)
    row_labels = [f"no. {i}: {int(labels[i])}" for i in index]
    fig = image_rows_figure(tiled_png(tiles.flatten(0, 1), 11), rows, 11, row_labels,
                            ["digit"] + [f"y={d}" for d in range(10)], scale=scale,
                            font_size=layout.plot_font_size(FONT_SIZE))
    with st.container(key="m2_swap_box"):
        st.plotly_chart(fig, key="m2_swap", config={"displayModeBar": False})
    share, per_label = caches.m2_swap_agreement(entry)
    worst = int(np.argmin(per_label))
    via = " then M1's decoder p(x|code)," if entry.checkpoint.model_config.m1 else ""
    st.caption(f"Each row: a test digit's style z (the mean of q(z|x, y) with its true label y) decoded by "
               f"p(x|y, z){via} with every label y. Measured: on the first {caches.SWAP_JUDGED} test digits the "
               f"shipped digit classifier reads the decoded image as the y it was decoded with **{share:.1%}** of "
               f"the time (chance 10 %); least often for y = {worst} ({per_label[worst]:.1%}).")


def recorded_runs_table() -> None:
    """Kingma et al. 2014, Table 1 beside this project's recorded runs (:data:`RECORDED_RUNS`),
    in an expander: MNIST test error (%) for 100, 600, 1,000 and 3,000 labels."""
    with st.expander("All our runs beside the paper's Table 1 (test error, %)", expanded=False):
        rows = []
        for kind in ("M2", "M1+M2"):
            for labels, paper in PAPER_TABLE[kind].items():
                ours, epochs = RECORDED_RUNS[kind][labels]
                rows.append({"model": kind, "labels": f"{labels:,}", "ours (%)": ours, "our training": epochs,
                             "paper (%)": paper})
        st.dataframe(rows, hide_index=True, column_config={
            "ours (%)": st.column_config.NumberColumn(format="%.2f"),
            "paper (%)": st.column_config.NumberColumn(format="%.2f")})
        st.caption("Our runs were measured on this project's files (the commands, seeds and times are in "
                   "docs/semi-supervised.md); most are not shipped, so only the model chosen above is measured "
                   "live on this page. The paper trains for far more updates than these few epochs on 2 CPU cores.")
