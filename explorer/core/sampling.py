"""Codes to sample a model from, fairly also for a model without a prior.

A VAE has a prior p(z) = N(0, I) (Kingma & Welling 2013). A plain AE has none: its
training never says where codes should lie, so a student who wants to sample it must
choose a distribution. Three choices a student would try:

* ``prior``: N(0, I), the VAE's prior (meaningless for an AE whose codes span tens of units);
* ``fitted``: a Gaussian fitted to the model's own test codes, N(mean, covariance) of mu
  (the "ex-post density estimation" of Ghosh et al. 2019, "From Variational to
  Deterministic Autoencoders", Sec. 4, with one Gaussian);
* ``box``: uniform over the codes' bounding box (per-dimension 0.5 and 99.5 percentiles).
"""

from __future__ import annotations

import numpy as np
import torch

#: The samplers, in the order the page offers them, with their labels.
SAMPLERS = {
    "prior": "N(0, I), the VAE's prior",
    "fitted": "Gaussian fitted to the model's codes",
    "box": "uniform over the codes' box",
}


def code_box(mu: np.ndarray, q: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension (low (D,), high (D,)) percentiles q and 100 - q of codes mu (N, D)."""
    return np.percentile(mu, q, axis=0), np.percentile(mu, 100 - q, axis=0)


def sample_codes(sampler: str, mu: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """``k`` codes (k, D) float32 drawn (seeded) by ``sampler`` for a model whose test
    codes are ``mu`` (N, D).

    Raises:
        ValueError: an unknown sampler, k < 1, or fewer than two codes.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}")
    if k < 1 or len(mu) < 2:
        raise ValueError(f"need k >= 1 and at least two codes, got k={k}, {len(mu)} codes")
    g = torch.Generator().manual_seed(int(seed))
    d = mu.shape[1]
    eps = torch.randn((k, d), generator=g, dtype=torch.float64)
    if sampler == "prior":
        return eps.float().numpy()
    codes = torch.as_tensor(np.asarray(mu), dtype=torch.float64)
    if sampler == "fitted":
        cov = torch.cov(codes.T).reshape(d, d) + 1e-6 * torch.eye(d, dtype=torch.float64)
        return (codes.mean(0) + eps @ torch.linalg.cholesky(cov).T).float().numpy()
    low, high = (torch.as_tensor(v, dtype=torch.float64) for v in code_box(np.asarray(mu)))
    return (low + (high - low) * torch.rand((k, d), generator=g, dtype=torch.float64)).float().numpy()
