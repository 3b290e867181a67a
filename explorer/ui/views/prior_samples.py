"""Samples from the prior, a lesson tool of the Compare page: K codes z ~ N(0, I) (seeded,
the same for both models), the draw and clear buttons, how a model without a prior (an
AE) is sampled instead (:data:`explorer.core.sampling.SAMPLERS`), and each model's
decodings with the share the digit judge calls real and the labels it gives them.
State: the ``cmp_prior_*`` and ``cmp_ae_sampler`` session keys."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.core.latent import prior_samples
from explorer.core.sampling import SAMPLERS, sample_codes
from explorer.ui.figures import charts
from explorer.ui.state import caches
from explorer.ui.views.common import MAX_K, ShownModel, decoded_codes


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


def sampler_name(view: ShownModel) -> str:
    """What ``view``'s samples are drawn from, in words."""
    if view.variational:
        return "N(0, I), its prior"
    return SAMPLERS[st.session_state["cmp_ae_sampler"]].replace(", the VAE's prior", " (it has no prior)")


def view_samples(view: ShownModel, samples: np.ndarray | None) -> np.ndarray | None:
    """The codes this view decodes for the page's draw ``samples`` (K, 2) ~ N(0, I): the same
    codes for a VAE (and for an AE sampled from N(0, I)); for an AE sampled from a fitted
    Gaussian or its codes' box, K codes from that (seeded by the page's draw)."""
    sampler = st.session_state["cmp_ae_sampler"]
    if samples is None or view.variational or sampler == "prior":
        return samples
    return sample_codes(sampler, view.encodings.mu, len(samples), int(st.session_state["cmp_prior_seed"]))


def prior_samples_panel(view: ShownModel, z: np.ndarray) -> None:
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
        facts = caches.lesson_facts(view.entry)
        sampler = "prior" if view.variational else st.session_state["cmp_ae_sampler"]
        line += f" ({facts.sample_real[sampler]:.0%} of {facts.sample_labels[sampler].sum()} more)"
    from explorer.ui.views.holes import JUDGE_HELP

    st.markdown(line + ".", help=JUDGE_HELP)
    st.plotly_chart(charts.label_bars(counts), key=view.keys("sample_labels"), config={"displayModeBar": False})
