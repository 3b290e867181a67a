"""The Theory page's parts: which digit and models to plug in, the equations with that
digit's numbers (ELBO, closed-form KL, reparameterization, AE loss), and the glossary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer.core.checkpoints import CheckpointError
from explorer.core.latent import ImageTerms, image_terms, terms_noise
from explorer.ui.figures import map_clicks
from explorer.ui.state import caches, registry
from explorer.ui.state.model_entry import ModelEntry

COMPARE_PAGE = "pages/compare.py"
EXPLORER_PAGE = "pages/explorer.py"


@dataclass(frozen=True)
class DigitNumbers:
    """One test digit under one model, the numbers the equations plug in.

    Attributes:
        entry: the model.
        index: test-set index of the digit.
        label: its digit label.
        mu: (latent_dim,) encoder mean (an AE's code).
        sigma: (latent_dim,) posterior standard deviation; None for an AE.
        eps: (latent_dim,) the noise of the single-sample estimate (seed 0); None for an AE.
        terms: reconstruction, KL, -ELBO in nats (KL and -ELBO None for an AE).
    """

    entry: ModelEntry
    index: int
    label: int
    mu: np.ndarray
    sigma: np.ndarray | None
    eps: np.ndarray | None
    terms: ImageTerms

    @property
    def variational(self) -> bool:
        return self.sigma is not None


def digit_numbers(entry: ModelEntry, index: int) -> DigitNumbers:
    """The numbers of test digit ``index`` under ``entry``'s model (same estimate as the
    click panels: one z drawn from q(z|x) with seed 0, KL in closed form)."""
    model = entry.model
    images, labels = caches.mnist_test_split()
    encodings = caches.mnist_test_encodings(entry)
    label = int(labels[index])
    terms = image_terms(model, images[index], y=label if model.is_conditional else None)
    sigma = encodings.sigma
    return DigitNumbers(entry, index, label, encodings.mu[index], None if sigma is None else sigma[index],
                        None if sigma is None else terms_noise(model.config.latent_dim), terms)


def theory_source() -> tuple[list[DigitNumbers], str | None]:
    """The selected digit to plug in: the Compare page's (both its models), else the
    Explorer's last click (the sidebar's model). Returns (numbers per model, the page
    that shows it) or ([], None) when nothing is selected."""
    source = st.session_state.get("cmp_theory_source")
    if source and source.get("index") is not None:
        try:
            entries = registry.shown_together([registry.resolve_model(choice) for choice in source["choices"]],
                                              source["choices"])
        except (CheckpointError, KeyError):
            entries = []
        if entries:
            return [digit_numbers(e, int(source["index"])) for e in entries], COMPARE_PAGE
    click = st.session_state.get("last_click")
    entry = registry.current_model()
    if isinstance(click, map_clicks.PointClick) and entry is not None:
        return [digit_numbers(entry, click.index)], EXPLORER_PAGE
    return [], None


#: Entries per row of a vector on the Theory page: a longer vector (z of 10 or 20) wraps
#: into rows of this many, so an equation stays inside its column at 1366x768.
VECTOR_ROW = 5


def _vec(values, fmt: str = "{:.3f}") -> str:
    """A vector as LaTeX: ``(a, b)`` up to :data:`VECTOR_ROW` entries, else a matrix in
    parentheses with :data:`VECTOR_ROW` entries a row."""
    cells = [fmt.format(float(v)) for v in values]
    if len(cells) <= VECTOR_ROW:
        return r"(" + ", ".join(cells) + r")"
    rows = [" & ".join(cells[i : i + VECTOR_ROW]) for i in range(0, len(cells), VECTOR_ROW)]
    return r"\begin{pmatrix}" + r" \\ ".join(rows) + r"\end{pmatrix}"


def elbo_latex(n: DigitNumbers) -> str:
    """-ELBO = reconstruction + KL with the digit's numbers (nats)."""
    t = n.terms
    return (rf"-\mathcal{{L}}(x_{{{n.index}}}) = \underbrace{{{t.reconstruction:.2f}}}_{{\text{{reconstruction}}}}"
            rf" + \underbrace{{{t.kl:.2f}}}_{{\text{{KL}}}} = {t.neg_elbo:.2f}\ \text{{nats}}")


def kl_latex(n: DigitNumbers) -> str:
    """The closed-form KL summed over the digit's latent dimensions, term by term."""
    parts = []
    for m, s in zip(n.mu, n.sigma):
        parts.append(rf"(1 + \log {s:.3f}^2 - ({m:.3f})^2 - {s:.3f}^2)")
    kl = -0.5 * float(np.sum(1 + np.log(n.sigma.astype(np.float64) ** 2) - n.mu.astype(np.float64) ** 2
                             - n.sigma.astype(np.float64) ** 2))
    body = r" \\ &\qquad + ".join(parts)  # one line per latent dimension
    return (rf"\begin{{aligned}} D_{{KL}} &= -\tfrac{{1}}{{2}}\big[{body}\big] \\ "
            rf"&= {kl:.2f}\ \text{{nats}} \end{{aligned}}")


def reparameterization_latex(n: DigitNumbers) -> str:
    """z = mu + sigma * eps with the digit's mu, sigma and the seed-0 eps."""
    z = n.mu + n.sigma * n.eps
    # one vector a line: side by side, four vectors of two numbers nearly filled the
    # column at 1366x768, and a z of 10 ran far past it
    return (rf"\begin{{aligned}} \mu &= {_vec(n.mu)} \\ \sigma &= {_vec(n.sigma)} \\ "
            rf"\varepsilon &= {_vec(n.eps)} \\ z = \mu + \sigma \odot \varepsilon &= {_vec(z)} \end{{aligned}}")


def ae_loss_latex(n: DigitNumbers) -> str:
    """The AE's reconstruction loss at its code, with the digit's numbers."""
    # z on a line of its own: a z of 10 in the same line ran past the column
    return (rf"\begin{{aligned}} \mathcal{{L}}_{{AE}}(x_{{{n.index}}}) &= -\log p(x \mid z) = "
            rf"{n.terms.reconstruction:.2f}\ \text{{nats}} \\ z &= f(x_{{{n.index}}}) = {_vec(n.mu, '{:.2f}')} "
            r"\end{aligned}")


GLOSSARY = {
    "Encoder, decoder": "Two neural networks. The encoder maps an image x to the latent space; the decoder maps a "
                        "code z back to an image (here: 784 pixels, 28 x 28).",
    "Latent code z": "A point in the 2-D latent space; each map on the Compare page plots one per test digit.",
    "Prior p(z)": "The distribution a VAE's codes should follow when no image is given: N(0, I), a round bell "
                  "around 0. Its 1-, 2- and 3-sigma circles hold 39%, 86% and 99% of its mass. Sampling new "
                  "images = drawing z from the prior and decoding it. A plain AE has no prior.",
    "Posterior q(z|x)": "The VAE encoder's answer for one image x: not one point but a Gaussian "
                        "N(mu, diag sigma^2), the codes that could have produced x.",
    "μ (mu)": "The mean of q(z|x): the centre of the digit's cloud, the point drawn on the VAE's map.",
    "σ (sigma)": "The standard deviation of q(z|x) along each axis: how wide the cloud is. The ellipses on "
                     "the maps are 1 and 2 sigma from mu.",
    "Reparameterization": "Writing a draw from q(z|x) as z = mu + sigma * eps with eps ~ N(0, I), so the noise "
                          "is an input and gradients flow through mu and sigma (Kingma & Welling 2013, Section 2.4).",
    "Reconstruction": "-log p(x|z): how unlikely the decoder finds the original image given z; lower is a better "
                      "copy. For a Bernoulli decoder it is the binary cross-entropy summed over the 784 pixels.",
    "KL divergence": "KL(q(z|x) || p(z)) >= 0: how far the digit's posterior is from the prior. It pulls every "
                     "digit's cloud towards N(0, I), which fills the space around 0 with codes.",
    "ELBO": "Evidence lower bound: log p(x) >= ELBO = E_q[log p(x|z)] - KL. A VAE maximises it, i.e. minimises "
            "-ELBO = reconstruction + KL.",
    "nats": "The unit of these terms: information measured with the natural logarithm (1 nat = 1.44 bits). "
            "Numbers are per image.",
    "beta": "The weight of the KL term in the training loss, reconstruction + beta * KL; beta = 1 is the VAE of "
            "the paper, larger beta pulls harder towards the prior (beta-VAE, Higgins et al. 2017).",
    "AE loss": "A plain autoencoder minimises the reconstruction alone: no KL, no prior, so nothing fills the "
               "space between its codes and a random z decodes to a smudge.",
}
