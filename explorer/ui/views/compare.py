"""Views that show two models at once (the Compare page): the model pair, the linked
selection, and the lesson tools (samples from the prior, interpolation, the
reparameterization cloud), each drawn per model by a :class:`ModelView`.

Shared state lives in the ``cmp_`` session keys (:data:`explorer.ui.session.COMPARE_DEFAULTS`).
Any pair of models with a 2-D latent space works; what makes no sense for a model
without a posterior (KL, ellipses, the cloud) is left out for it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
import torch

from explorer.core.checkpoints import CheckpointError
from explorer.core.images import png_bytes, tiled_png, upscale_nearest
from explorer.core.latent import decode_z, image_terms, interpolate, posterior_samples, prior_samples
from explorer.core.sampling import SAMPLERS, sample_codes
from explorer.ui import caches, charts, figures, registry
from explorer.ui.registry import ModelEntry
from explorer.ui.views.common import ModelView

#: The pair a class starts with: the shipped AE on the left, the shipped VAE on the right.
DEFAULT_PAIR = ("mnist_ae_z2.safetensors", "mnist_vae_z2.safetensors")
SAMPLE_SCALE = 2  # prior samples and cloud decodings are shown at 2x (56 px a digit)
STRIP_SCALE = 2
SAMPLES_PER_ROW = 8
PATH_COLORS = ("#d62728", "#111111")  # map path and its ends
SAMPLE_COLOR = "#111111"
CLOUD_COLOR = "#d62728"
#: The zoomed cloud view shows mu +- this many of the larger sigma.
CLOUD_ZOOM_SIGMAS = 4.0
MAX_K = 256
MIN_PATH_N, MAX_PATH_N = 2, 30
#: Receives the decoded path images of one model: (view, (n, 1, 28, 28) pixels in [0, 1]).
PathHook = Callable[[ModelView, torch.Tensor], None]


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


def condition_selectors(views: list[ModelView], slots: list) -> None:
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


def linked_selection(views: list[ModelView]) -> int | None:
    """Act on clicks on either map (call before any widget): the clicked digit is
    selected on both and becomes the next end of the interpolation path."""
    from explorer.ui.views.latent_map import handle_linked_selection

    index = handle_linked_selection(views, on_digit=_set_path_end)
    st.session_state["cmp_selected"] = index
    return index


def short_names(views: list[ModelView]) -> list[str]:
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


def digit_panel(views: list[ModelView], index: int | None, samples: np.ndarray | None = None,
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
        images, labels = caches.test_split()
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


# --- Samples from the prior --------------------------------------------------------------


def _draw_prior(k_key: str = "cmp_prior_k") -> None:
    if st.session_state["cmp_prior_drawn"]:
        st.session_state["cmp_prior_seed"] += 1
    st.session_state["cmp_prior_drawn"] = True


def prior_sample_codes() -> np.ndarray | None:
    """The current samples z ~ N(0, I) (K of them, seeded), or None before the first draw."""
    if not st.session_state["cmp_prior_drawn"]:
        return None
    return prior_samples(int(st.session_state["cmp_prior_k"]), 2, int(st.session_state["cmp_prior_seed"]))


def prior_draw_button(width: str = "content") -> None:
    """The draw button: "Sample from the prior", "New sample" once drawn (key ``cmp_prior_draw``)."""
    drawn = st.session_state["cmp_prior_drawn"]
    st.button("New sample" if drawn else "Sample from the prior", key="cmp_prior_draw", on_click=_draw_prior,
              type="primary", width=width, help="Draw K codes z ~ N(0, I) and decode each with both models.")


def prior_sample_controls(draw_button: bool = True) -> None:
    """K, the draw button ("new sample" once drawn; left out with ``draw_button`` False,
    when the page shows it beside the maps) and a clear button."""
    drawn = st.session_state["cmp_prior_drawn"]
    k_col, draw_col, clear_col = st.columns([1, 1.4, 1], vertical_alignment="bottom")
    k_col.number_input("K samples", 1, MAX_K, key="cmp_prior_k",
                       help="How many codes z to draw from the prior p(z) = N(0, I).")
    st.radio("Sample a model without a prior (an AE) from", list(SAMPLERS), key="cmp_ae_sampler", horizontal=True,
             format_func=SAMPLERS.get,
             help="An AE has no p(z): nothing in its training says where codes should lie, so sampling it means "
                  "choosing a distribution. N(0, I) is the VAE's prior (a patch near the AE's origin); a Gaussian "
                  "fitted to the AE's test codes (their mean and covariance) follows its codes, as Ghosh et al. "
                  "2019 do after training; uniform over the box its codes span fills the gaps too. A VAE is "
                  "always sampled from its prior N(0, I).")
    if draw_button:
        with draw_col:
            prior_draw_button()
    else:
        draw_col.caption("\"New sample\" is between the maps in this lesson step.")
    if drawn:
        clear_col.button("Clear samples", key="cmp_prior_clear",
                         on_click=lambda: st.session_state.update(cmp_prior_drawn=False))
        st.caption(f"Seed {st.session_state['cmp_prior_seed']}: the same seed gives the same K codes for both "
                   "models; they are the crosses on both maps.")


def decoded_codes(view: ModelView, z: np.ndarray, name: str, caption: str, nrow: int = SAMPLES_PER_ROW,
                  scale: int = SAMPLE_SCALE) -> torch.Tensor:
    """Decoder means of ``z`` as one image (:func:`explorer.core.images.tiled_png`) in a
    container keyed ``<prefix><name>``. Returns the (K, C, H, W) decoded images, pixels in [0, 1]."""
    images = decode_z(view.model, z, y=view.condition())
    with st.container(key=view.keys(name)):
        st.image(tiled_png(images, nrow=min(nrow, len(z)), scale=scale), output_format="PNG", caption=caption)
    return images


def sampler_name(view: ModelView) -> str:
    """What ``view``'s samples are drawn from, in words."""
    if view.variational:
        return "N(0, I), its prior"
    return SAMPLERS[st.session_state["cmp_ae_sampler"]].replace(", the VAE's prior", " (it has no prior)")


def view_samples(view: ModelView, samples: np.ndarray | None) -> np.ndarray | None:
    """The codes this view decodes for the page's draw ``samples`` (K, 2) ~ N(0, I): the same
    codes for a VAE (and for an AE sampled from N(0, I)); for an AE sampled from a fitted
    Gaussian or its codes' box, K codes from that (seeded by the page's draw)."""
    sampler = st.session_state["cmp_ae_sampler"]
    if samples is None or view.variational or sampler == "prior":
        return samples
    return sample_codes(sampler, view.encodings.mu, len(samples), int(st.session_state["cmp_prior_seed"]))


def prior_samples_panel(view: ModelView, z: np.ndarray) -> None:
    """One model's decodings of its samples, with the share judged real (these K and 500
    more from the same distribution) and a bar chart of the labels the classifier gives them."""
    from explorer.core.classifier import ClassifierFileError

    z = view_samples(view, z)
    images = decoded_codes(view, z, "prior_samples", f"{view.entry.title}: {len(z)} decoded z ~ {sampler_name(view)}.")
    try:
        judge = caches.realism_judge()
    except ClassifierFileError:
        return  # the holes tab says what is wrong and how to fix it
    _, real, labels = judge.judge(images)
    counts = np.bincount(labels, minlength=10)
    line = f"Judged real: **{real.mean():.0%}** of these {len(z)}"
    if not view.model.is_conditional:
        facts = caches.lesson_facts(view.entry.key, view.model, view.entry.label)
        sampler = "prior" if view.variational else st.session_state["cmp_ae_sampler"]
        line += f" ({facts.sample_real[sampler]:.0%} of {facts.sample_labels[sampler].sum()} more)"
    from explorer.ui.views.holes import JUDGE_HELP

    st.markdown(line + ".", help=JUDGE_HELP)
    st.plotly_chart(charts.label_bars(counts), key=view.keys("sample_labels"), config={"displayModeBar": False})


# --- Interpolation ------------------------------------------------------------------------


def interpolation_controls() -> tuple[int, int, int] | None:
    """Start and end digit (test-set indices) and the number of steps; returns them
    when both ends are set and differ, else None (with a hint)."""
    n_images = len(caches.test_split()[1])
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


def path_codes(view: ModelView, start: int, end: int, n: int) -> np.ndarray:
    """(n, 2) codes on the straight line between two test digits' mu in this model."""
    return interpolate(view.encodings.mu[start], view.encodings.mu[end], n)


def interpolation_panel(view: ModelView, path: np.ndarray, on_path_images: PathHook | None = None) -> None:
    """The decoded path as a strip; ``on_path_images`` (e.g. a classifier's score along
    the path) receives the decoded images."""
    images = decoded_codes(view, path, "path_strip",
                           f"{view.entry.title}: decoder means along the path, start to end.",
                           nrow=len(path), scale=STRIP_SCALE)
    if on_path_images is not None:
        on_path_images(view, images)


# --- Reparameterization -------------------------------------------------------------------


def _new_eps() -> None:
    st.session_state["cmp_eps_seed"] += 1


def new_eps_button(width: str = "content") -> None:
    """The "New eps" button (key ``cmp_new_eps``)."""
    st.button("New eps", key="cmp_new_eps", on_click=_new_eps, width=width,
              help="Draw new noise eps ~ N(0, I); mu and sigma stay the same.")


def reparameterization_controls(eps_button: bool = True) -> None:
    """K draws and the "new eps" button (left out with ``eps_button`` False, when the page
    shows it beside the maps)."""
    k_col, button_col = st.columns([1, 1], vertical_alignment="bottom")
    k_col.number_input("K draws of z", 1, MAX_K, key="cmp_cloud_k",
                       help="How many z = mu + sigma * eps to draw from the selected digit's posterior q(z|x).")
    if eps_button:
        with button_col:
            new_eps_button()


def cloud_codes(view: ModelView, index: int) -> np.ndarray:
    """K draws z = mu + sigma * eps from the digit's posterior under this (variational) model."""
    e = view.encodings
    return posterior_samples(view.model, e.mu[index], e.logvar[index], int(st.session_state["cmp_cloud_k"]),
                             int(st.session_state["cmp_eps_seed"]))


def reparameterization_panel(view: ModelView, index: int, height: int = 360, font_size: int = 16,
                             compact: bool = False) -> None:
    """The selected digit's posterior, zoomed so sigma shows: its K draws as a cloud with
    the 1- and 2-sigma ellipses, and the draws decoded. A model without a posterior gets
    one line saying why it has no cloud. ``compact``: short captions and 8 draws a row
    smaller, for a narrow column beside the maps."""
    if not view.variational:
        st.info(f"{view.entry.title} has no cloud: an AE's encoder gives one point z per image, not a "
                "distribution q(z|x), so there is nothing to sample around it.")
        return
    e = view.encodings
    mu, sigma = e.mu[index], e.sigma[index]
    z = cloud_codes(view, index)
    half = CLOUD_ZOOM_SIGMAS * float(sigma.max())
    zoom = ((mu[0] - half, mu[0] + half), (mu[1] - half, mu[1] + half))
    fig = figures.latent_map(
        e.mu, e.labels, ranges=view.ranges, selected=(mu, sigma), catcher=False, zoom=zoom, font_size=font_size,
        overlays=[figures.MapOverlay("z = mu + sigma * eps", z, color=CLOUD_COLOR, symbol="circle", size=7)],
    )
    fig.update_layout(height=height, showlegend=False, margin={"l": 60, "r": 10, "t": 10, "b": 50})
    with st.container(key=view.keys("cloud_map")):
        st.plotly_chart(fig, key=view.keys("cloud_chart"), config={"displaylogo": False})
    if compact:  # two lines in the narrow column: the decoded draws stay on a 768 px screen
        st.caption(f"mu \u00b1 4 sigma (sigma \u2248 {sigma.max():.3f}): {len(z)} draws (red), 1- and 2-sigma ellipses.")
    else:
        st.caption(f"Zoomed to mu = ({mu[0]:.2f}, {mu[1]:.2f}), sigma = ({sigma[0]:.3f}, {sigma[1]:.3f}): "
                   "red dots are the draws, solid and dashed ellipses the 1- and 2-sigma contours of q(z|x).")
    decoded_codes(view, z, "cloud_images", f"The {len(z)} draws decoded.", scale=1 if compact else SAMPLE_SCALE)


KEY_VIEW_CAPTION = (
    "Each point is one of the 10,000 MNIST test digits, coloured by its label: where the encoder puts it "
    "(an AE's code z; a VAE's posterior mean mu). Grey dotted circles: the prior p(z) = N(0, I)'s 1-, 2- and "
    "3-sigma circles. Click a digit on either map to select it on both. Terms in nats (natural-log units): "
    "reconstruction = -log p(x|z), KL = how far q(z|x) is from the prior, -ELBO = their sum; see the Theory page."
)


def map_title(view: ModelView) -> str:
    """What the map shows for this kind of model."""
    kind = view.model.config.kind.upper()
    return f"{kind}: posterior means mu" if view.variational else f"{kind}: codes z (no prior)"


# --- What the maps mark -------------------------------------------------------------------


def drawn_code(view: ModelView, image: torch.Tensor) -> np.ndarray:
    """The code mu of a drawn digit under this view's model, (1, 2), for its map."""
    y = view.condition()
    with torch.inference_mode():
        mu, _ = view.model.encode(image.unsqueeze(0), None if y is None else torch.tensor([y]))
    return mu.numpy()


def map_overlays(view: ModelView, samples: np.ndarray | None, path: tuple[int, int, int] | None) -> list:
    """The lesson tools' marks on this view's map: prior samples, the interpolation path."""
    overlays = []
    if samples is not None:
        overlays.append(figures.MapOverlay("prior sample", view_samples(view, samples), color=SAMPLE_COLOR,
                                           symbol="x", size=10))
    if path is not None:
        overlays.append(figures.MapOverlay("interpolation path", path_codes(view, *path), path=True,
                                           color=PATH_COLORS[0], symbol="circle", size=7))
    return overlays
