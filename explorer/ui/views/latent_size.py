"""The Latent size page's panels over the shipped VAEs: the same test digits reconstructed
by each latent size, and one model's KL per latent dimension with its active units."""

import streamlit as st
import torch

from explorer.core.model_kinds import reconstruct
from explorer.core.images import tiled_png
from explorer.core.metrics import ACTIVE_UNIT_THRESHOLD
from explorer.ui.components import viewport
from explorer.ui.state import caches
from explorer.ui.state.caches import mnist_test_latent_usage
from explorer.ui.figures.model_kind_figures import image_rows_figure, kl_per_dimension_figure

#: The latent sizes of the reconstruction comparison (Kingma & Welling 2013 compare z of 2 to 20).
SIZES = ("z=2", "z=5", "z=10", "z=20")
#: Screen pixels per image pixel of the reconstructions on a laptop and on a projector (at
#: 1.4 they stayed 440 x 215 px on a 1920 x 1080 screen).
RECONSTRUCTION_SCALES = (1.4, 2.0)


def _png(images: torch.Tensor, nrow: int) -> bytes:
    return tiled_png(images, nrow=nrow)


def reconstructions_panel(models: dict) -> None:
    """The first test digit of each class, then its reconstruction by each latent size."""
    images, labels = caches.mnist_test_split()
    rows = [int(torch.nonzero(labels == d)[0]) for d in range(10)]
    x, y = images[rows], labels[rows]
    shown = [name for name in SIZES if name in models]
    tiles = torch.cat([x, *(reconstruct(models[name].model, x, y) for name in shown)])
    fig = image_rows_figure(_png(tiles, 10), 1 + len(shown), 10, ["original", *(f"VAE {n}" for n in shown)],
                            [str(i) for i in rows], scale=viewport.pick(*RECONSTRUCTION_SCALES))
    with st.container(key="ls_reconstructions"):
        st.plotly_chart(fig, key="ls_reconstructions_chart", config={"displayModeBar": False})
    st.caption("The first test digit of each class (test index on top), then each model's decoder mean at mu: "
               "z = 2 squeezes every digit onto a plane (blurred strokes, some digits turn into others); more "
               "dimensions keep more detail.")


def kl_panel(entry, name: str) -> None:
    """KL per latent dimension of VAE ``name`` on the test digits, its active units in blue."""
    usage = mnist_test_latent_usage(entry)
    kl = usage.kl_per_dimension.numpy()
    with st.container(key="ls_kl"):
        st.plotly_chart(kl_per_dimension_figure(kl, usage.active.numpy()), key="ls_kl_chart",
                        config={"displaylogo": False})
    st.caption(f"VAE {name}: KL_d = -1/2 (1 + log sigma_d^2 - mu_d^2 - sigma_d^2) per dimension averaged over the "
               f"10,000 test digits (Kingma & Welling 2013, Appendix B, term by term; they add up to the KL column: "
               f"{kl.sum():.2f} nats). {usage.active_units} of {len(kl)} dimensions are active (blue): their mu "
               f"varies across digits with variance above {ACTIVE_UNIT_THRESHOLD}. A grey one costs almost no KL "
               "because q(z_d|x) is the prior for every digit: the decoder ignores it.")
