"""Views that show two models at once (the Compare page): the model pair, the linked
selection, the selected digit under both models, and what the maps mark (titles, the
lesson tools' overlays, a drawn digit's code). The lesson tools themselves, each drawn per
model by a :class:`ShownModel`, are :mod:`explorer.ui.views.prior_samples`,
:mod:`explorer.ui.views.interpolation` and :mod:`explorer.ui.views.reparameterization`.

Shared state lives in the ``cmp_`` session keys (:data:`explorer.ui.state.session.COMPARE_DEFAULTS`).
Any pair of models with a 2-D latent space works; what makes no sense for a model
without a posterior (KL, ellipses, the cloud) is left out for it.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer.core.checkpoints import CheckpointError
from explorer.core.images import png_bytes, upscale_nearest
from explorer.core.latent import decode_z, image_terms
from explorer.ui import figures
from explorer.ui.figures import map_figure
from explorer.ui.state import caches, registry
from explorer.ui.state.model_entry import ModelEntry
from explorer.ui.views.common import ShownModel, decoded_codes
from explorer.ui.views.interpolation import path_codes
from explorer.ui.views.prior_samples import sampler_name, view_samples

#: The pair a class starts with: the shipped AE on the left, the shipped VAE on the right.
DEFAULT_PAIR = ("mnist_ae_z2.safetensors", "mnist_vae_z2.safetensors")
PATH_COLORS = ("#d62728", "#111111")  # map path and its ends
SAMPLE_COLOR = "#111111"


def _default_choice(options: dict[str, str], name: str) -> str:
    return next((value for value, label in options.items() if label == name), next(iter(options)))


def _is_conditional(choice: str) -> bool:
    try:
        return registry.resolve_model(choice).model.is_conditional
    except (CheckpointError, KeyError):
        return False


def model_pair(label_slots: list | None = None) -> tuple[ModelEntry, ModelEntry] | None:
    """Two model choices side by side (keys ``cmp_model_a``, ``cmp_model_b``), defaulting
    to the shipped AE and VAE. Returns the two entries, or None (with a message) when
    one cannot be used.

    Args:
        label_slots: if given, receives per side a container beside the model choice
            for :func:`condition_selectors` (None where the chosen model is not conditional).
    """
    options = registry.model_options()
    if not options:
        st.error(f"No checkpoints found in {registry.CHECKPOINT_DIR}: train a model on the Train page.")
        return None
    entries, labels = [], registry.model_labels(options)
    for key, name, side, column in zip(("cmp_model_a", "cmp_model_b"), DEFAULT_PAIR, ("Left", "Right"),
                                       st.columns(2)):
        if st.session_state.get(key) not in options:
            st.session_state[key] = _default_choice(options, name)
        label_slot = None
        if _is_conditional(st.session_state[key]):  # the choice of this run, known before its widget is drawn
            column, label_slot = column.columns([3, 2])
        if label_slots is not None:
            label_slots.append(label_slot)
        choice = column.selectbox(f"{side} map: model", list(options), format_func=labels.__getitem__, key=key,
                                  help=registry.choice_help(st.session_state[key], options, "Any model with a 2-D "
                                                            "latent space, also those of this session."))
        try:
            entry = registry.resolve_model(choice)
        except (CheckpointError, KeyError) as exc:
            column.error(f"Cannot use this model: {exc}. Choose another one.")
            return None
        if entry.model.config.latent_dim != 2:
            column.error(f"{entry.title} has {entry.model.config.latent_dim} latent dimensions, but this page "
                         "draws each model's codes z themselves on a plane, so it needs models with a 2-D latent "
                         f"space. Choose a 2-D model for the {side.lower()} map; the Explorer page shows this one "
                         "(principal components of mu and traversals).")
            return None
        entries.append(entry)
    entries = registry.shown_together(entries, [st.session_state["cmp_model_a"], st.session_state["cmp_model_b"]], labels)
    return entries[0], entries[1]


def condition_selectors(views: list[ShownModel], slots: list) -> None:
    """A digit label for each conditional model, beside its model choice (in ``slots``
    from :func:`model_pair`; key ``<prefix>condition_label``): every decoding on that
    side (prior samples, the path, the cloud, the holes, the hover image) uses it.
    Nothing for other models. Call after the views are created (they set its default)."""
    for view, slot, side in zip(views, slots, ("Left", "Right")):
        if view.model.is_conditional and slot is not None:
            slot.selectbox(f"{side} map: digit label y", list(range(view.model.config.num_classes)),
                             key=view.keys("condition_label"),
                             help="A conditional VAE decodes z together with a label y: z holds the style, y "
                                  "the digit. Prior samples, the interpolation path, the cloud, the holes and "
                                  "the image under the cursor on this side are decoded with this label. (A "
                                  "selected digit's reconstruction uses its own label.)")


def _set_path_end(index: int) -> None:
    """A clicked digit becomes the path's start, the next one its end, and so on."""
    end = st.session_state["cmp_path_next"]
    st.session_state[f"cmp_path_{end}"] = index
    st.session_state["cmp_path_next"] = "end" if end == "start" else "start"


def linked_selection(views: list[ShownModel]) -> int | None:
    """Act on clicks on either map (call before any widget): the clicked digit is
    selected on both and becomes the next end of the interpolation path."""
    from explorer.ui.views.latent_map import handle_linked_selection

    index = handle_linked_selection(views, on_digit=_set_path_end)
    st.session_state["cmp_selected"] = index
    return index


def short_names(views: list[ShownModel]) -> list[str]:
    """Column headers for the views: their kinds ("AE", "VAE"), with the side when both are
    of one kind."""
    kinds = [v.model.config.kind.upper() for v in views]
    if len(set(kinds)) == len(kinds):
        return kinds
    return [f"{k} ({side})" for k, side in zip(kinds, ("left", "right"))]


def color_key() -> None:
    """One key of the digits' colours for both maps (their own legends are off)."""
    swatches = " ".join(f'<span style="color:{figures.DIGIT_COLORS[d]}">&#9679;</span>{d}' for d in range(10))
    st.markdown(f'<div style="white-space:nowrap">{swatches}</div>', unsafe_allow_html=True,
                help="A point's colour is its digit label.")


def _number(value: float | None, fmt: str = "{:.2f}") -> str:
    return "n/a" if value is None else fmt.format(value)


#: Prior samples shown between the maps while no digit is selected (2 rows of 8: both
#: models' grids fit under the lesson's text on a 1366x768 screen).
PREVIEW_SAMPLES, PREVIEW_PER_ROW = 16, 8
#: Interpolation steps per row between the maps.
PREVIEW_PATH_PER_ROW = 5


def digit_panel(views: list[ShownModel], index: int | None, samples: np.ndarray | None = None,
                path: tuple[int, int, int] | None = None) -> None:
    """The selected test digit under both models (container ``cmp_digit_panel``): the
    original, each model's reconstruction (decoder mean at mu) and a table of mu, sigma
    and the per-image terms in nats (KL and -ELBO n/a for a model without a posterior).

    With no digit selected it shows, so that a small screen sees them beside the maps
    (the tabs below show them in full): the first 16 prior ``samples`` (K, 2) decoded by
    both models (containers ``<prefix>prior_preview``), else the interpolation ``path``
    (start, end, n) decoded by both (``<prefix>path_preview``)."""
    with st.container(key="cmp_digit_panel"):
        color_key()
        if index is None:
            names = short_names(views)
            if samples is not None:
                for view, name in zip(views, names):
                    z = view_samples(view, samples)[:PREVIEW_SAMPLES]
                    decoded_codes(view, z, "prior_preview", f"{name}: {len(z)} decoded z ~ {sampler_name(view)}",
                                  nrow=PREVIEW_PER_ROW)
            elif path is not None:
                from explorer.ui.views.holes import strip_marks

                for view, name in zip(views, names):
                    images = decoded_codes(view, path_codes(view, *path), "path_preview",
                                           f"{name}: the path decoded, start to end", nrow=PREVIEW_PATH_PER_ROW)
                    marks = strip_marks(images)
                    if marks is not None:
                        st.markdown(f"{name}, judged real: {marks}", help="Each step of the path above, in order: "
                                    "a check where the image looks like a real digit, a cross where not.")
            else:
                st.caption("Click a digit on either map: it is selected on both, with both reconstructions "
                           "and both models' loss terms.")
            return
        images, labels = caches.mnist_test_split()
        label = int(labels[index])
        original = images[index]
        st.markdown(f"**Test digit {index}**, label **{label}**",
                    help="Terms in nats per image. Reconstruction -log p(x|z): for a VAE at one z drawn from "
                         "q(z|x) (seed 0), for an AE at its code. KL and -ELBO are n/a for a model without a "
                         "posterior.")
        names = short_names(views)
        rows = {"mu1": [], "mu2": [], "sigma1": [], "sigma2": [], "reconstruction": [], "KL": [], "-ELBO": []}
        shown = [(original, "original")]
        for view, name in zip(views, names):
            y = label if view.model.is_conditional else None
            mu = view.encodings.mu[index]
            shown.append((decode_z(view.model, mu, y=y)[0], f"{name} recon."))
            terms = image_terms(view.model, original, y=y)
            sigma = view.encodings.sigma
            for j in range(2):
                rows[f"mu{j + 1}"].append(f"{mu[j]:.2f}")
                rows[f"sigma{j + 1}"].append("n/a" if sigma is None else f"{sigma[index][j]:.3f}")
            rows["reconstruction"].append(_number(terms.reconstruction))
            rows["KL"].append(_number(terms.kl))
            rows["-ELBO"].append(_number(terms.neg_elbo))
        for column, (image, caption) in zip(st.columns(len(shown)), shown):
            column.image(png_bytes(upscale_nearest(image, 3)), output_format="PNG", caption=caption)
        header = "| | " + " | ".join(names) + " |\n|:--|" + "--:|" * len(names) + "\n"
        st.markdown(header + "\n".join(f"| {k} | " + " | ".join(v) + " |" for k, v in rows.items()))


KEY_VIEW_CAPTION = (
    "Each point is one of the 10,000 MNIST test digits, coloured by its label: where the encoder puts it "
    "(an AE's code z; a VAE's posterior mean mu). Grey dotted circles: the prior p(z) = N(0, I)'s 1-, 2- and "
    "3-sigma circles. Click a digit on either map to select it on both. Terms in nats (natural-log units): "
    "reconstruction = -log p(x|z), KL = how far q(z|x) is from the prior, -ELBO = their sum; see the Theory page."
)


def map_title(view: ShownModel) -> str:
    """What the map shows for this kind of model."""
    kind = view.model.config.kind.upper()
    return f"{kind}: posterior means mu" if view.variational else f"{kind}: codes z (no prior)"


# --- What the maps mark -------------------------------------------------------------------


def drawn_code(view: ShownModel, image: torch.Tensor) -> np.ndarray:
    """The code mu of a drawn digit under this view's model, (1, 2), for its map."""
    y = view.condition()
    with torch.inference_mode():
        mu, _ = view.model.encode(image.unsqueeze(0), None if y is None else torch.tensor([y]))
    return mu.numpy()


def map_overlays(view: ShownModel, samples: np.ndarray | None, path: tuple[int, int, int] | None) -> list:
    """The lesson tools' marks on this view's map: prior samples, the interpolation path."""
    overlays = []
    if samples is not None:
        overlays.append(map_figure.MapOverlay("prior sample", view_samples(view, samples), color=SAMPLE_COLOR,
                                              symbol="x", size=10))
    if path is not None:
        overlays.append(map_figure.MapOverlay("interpolation path", path_codes(view, *path), path=True,
                                              color=PATH_COLORS[0], symbol="circle", size=7))
    return overlays
