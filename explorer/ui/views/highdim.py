"""The lesson's ten-dimensional pair: the shipped AE and VAE with z = 10 (same network,
same recipe), each sampled from a Gaussian (the VAE from its prior N(0, I), the AE from a
Gaussian fitted to its own codes) and interpolated between two test digits, with the
share judged real (:mod:`explorer.core.realism`) beside each grid."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.core.images import tiled_png
from explorer.core.latent import decode_z, interpolate
from explorer.core.sampling import sample_codes
from explorer.ui.figures import charts
from explorer.ui.state import caches
from explorer.ui.state.shipped import load_shipped

#: The pair (left, right): an AE and a VAE with the same latent size, network and recipe.
HIGHDIM_PAIR = ("mnist_ae_z10.safetensors", "mnist_vae_z10.safetensors")
SAMPLES, PER_ROW, STEPS = 16, 8, 10
BARS_HEIGHT = 130  # px, the label bars beside the sample grid


def highdim_entries():
    """The two shipped entries, or None after an error on the page naming the missing file."""
    entries = []
    for name in HIGHDIM_PAIR:
        entry, message = load_shipped(name)
        if entry is None:
            st.error(message, icon=":material/error:")
            return None
        entries.append(entry)
    return entries


def highdim_facts(entries) -> tuple:
    """Both models' :class:`explorer.core.lesson_claims.ModelFacts` (cached per model)."""
    return tuple(caches.lesson_facts(e) for e in entries)


def _tiles(images, nrow: int, scale: int = 2) -> bytes:
    return tiled_png(images, nrow=nrow, scale=scale)


def highdim_panel(seed: int = 0) -> None:
    """Both z = 10 models side by side (container ``cmp_highdim``): 16 samples from a
    Gaussian with the share judged real and a label bar chart, and the interpolation
    between the measured pair of test digits (the one where the AE's path has the most
    images judged not real beyond the VAE's), each step marked real or not."""
    from explorer.core.lesson_claims import best_path_ends
    from explorer.ui.views.holes import JUDGE_HELP, path_marks

    with st.container(key="cmp_highdim"):
        entries = highdim_entries()
        if entries is None:
            return
        facts = highdim_facts(entries)
        judge = caches.realism_judge()
        start, end = best_path_ends(*facts)
        for entry, f, column in zip(entries, facts, st.columns(2)):
            model = entry.model
            enc = caches.mnist_test_encodings(entry)
            sampler = "prior" if f.variational else "fitted"
            what = "its prior N(0, I)" if f.variational else "a Gaussian fitted to its codes"
            images = decode_z(model, sample_codes(sampler, enc.mu, SAMPLES, seed))
            _, real, labels = judge.judge(images)
            strip = decode_z(model, interpolate(enc.mu[start], enc.mu[end], STEPS))
            with column:
                st.markdown(f"**{f.short}, z = 10**: 16 samples from {what}", help=f"{entry.label}: the same "
                            "network and training recipe as the other model; an AE has no prior.")
                # the grid beside its labels' bars: the path's marks stay on a 1366x768 screen
                grid, bars = st.columns([3, 2], vertical_alignment="center", gap="small")
                grid.image(_tiles(images, PER_ROW), output_format="PNG")
                with bars:
                    st.plotly_chart(charts.label_bars(np.bincount(labels, minlength=10), height=BARS_HEIGHT),
                                    key=f"cmp_highdim_{f.short}_labels", config={"displayModeBar": False})
                with st.container(key=f"cmp_highdim_share_{f.short}"):
                    st.markdown(f"Judged real: **{real.mean():.0%}** of these 16, **{f.sample_real[sampler]:.0%}** of "
                                f"{f.sample_labels[sampler].sum()} more; from N(0, I): "
                                f"**{f.sample_real['prior']:.0%}**.", help=JUDGE_HELP)
                with st.container(key=f"cmp_highdim_marks_{f.short}"):
                    st.image(_tiles(strip, STEPS), output_format="PNG",
                             caption=f"Test digit {start} to test digit {end}, {STEPS} steps.")
                    st.markdown(path_marks(judge.judge(strip)[1]))
