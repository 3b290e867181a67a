"""Contraction penalties of the contractive autoencoder (Rifai et al. 2011).

CAE ("Contractive Auto-Encoders: Explicit Invariance During Feature Extraction", ICML
2011, Eq. 2-3): the reconstruction plus lambda * ||J_h(x)||_F^2, the squared Frobenius
norm of the Jacobian of the code h(x) with respect to the input pixels. Here it is
computed exactly for any encoder by automatic differentiation: one vector-Jacobian
product per code dimension (the rows of J), batched over the images.

SCAE (the stochastic form, Rifai et al. 2011, "Higher Order Contractive Auto-Encoder",
Sec. 3): the reconstruction plus lambda * E_{x~ ~ N(x, sigma^2 I)} ||h(x) - h(x~)||^2,
estimated with Gaussian corruptions of the input. For small sigma the expectation is
sigma^2 * ||J_h(x)||_F^2 + O(sigma^4); for a linear (affine) encoder h(x) = W x + b it is
exactly sigma^2 * ||W||_F^2.
"""

from __future__ import annotations

from typing import Callable

import torch

Encode = Callable[[torch.Tensor], torch.Tensor]


def jacobian_frobenius_sq(encode: Encode, x: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """||J_h(x)||_F^2 per image, exact (Rifai et al. 2011, Eq. 3).

    Row d of every image's Jacobian is the gradient of sum_b h_d(x_b) with respect to the
    input (an image's code depends on that image only, true for every network of the
    family: no batch normalisation), so ``latent_dim`` backward passes give all of J.

    Args:
        encode: images (B, C, H, W) -> codes (B, D); must treat the images independently.
        x: (B, C, H, W), pixels in [0, 1] (any float input works).
        create_graph: keep the graph of the result so it can be trained on (the CAE's loss).

    Returns:
        (B,) the sum over code dimensions and pixels of (dh_d / dx_i)^2, in code units
        squared per unit of pixel value.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        h = encode(x)
        if h.dim() != 2:
            raise ValueError(f"the encoder must return codes of shape (B, D), got {tuple(h.shape)}")
        total = x.new_zeros(len(x))
        for d in range(h.shape[1]):
            (row,) = torch.autograd.grad(h[:, d].sum(), x, create_graph=create_graph, retain_graph=True)
            total = total + row.pow(2).flatten(1).sum(1)
    return total


def stochastic_contraction(encode: Encode, x: torch.Tensor, sigma: float, samples: int = 1,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """Monte Carlo estimate of E_{x~ ~ N(x, sigma^2 I)} ||h(x) - h(x~)||^2 per image (SCAE).

    The corruption is additive Gaussian noise, not clipped to [0, 1] (clipping would bias
    the expectation away from its closed form sigma^2 * ||W||_F^2 for a linear encoder).

    Args:
        encode: images (B, C, H, W) -> codes (B, D).
        x: (B, C, H, W).
        sigma: the corruption's standard deviation (pixel units), >= 0.
        samples: corrupted copies per image averaged over (>= 1).
        generator: source of the corruption.

    Returns:
        (B,) code units squared, differentiable in the encoder's parameters.

    Raises:
        ValueError: sigma < 0 or samples < 1.
    """
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    h = encode(x)
    noisy = x.unsqueeze(0) + sigma * torch.randn((samples, *x.shape), generator=generator,
                                                 dtype=x.dtype, device=x.device)
    h_noisy = encode(noisy.flatten(0, 1)).view(samples, *h.shape)
    return (h_noisy - h.unsqueeze(0)).pow(2).sum(-1).mean(0)


# --- Measuring contraction on a trained model (the Contractive AE page) ---------------

#: Small input perturbations whose effect on the code is measured: additive Gaussian noise
#: (std = the level, clipped to [0, 1]) and a shift of the whole image by one pixel.
PERTURBATIONS = ("noise", "shift")


def shift_images(x: torch.Tensor, pixels: int = 1) -> torch.Tensor:
    """The images moved ``pixels`` to the right (columns shifted in from the left are 0, black).

    Args:
        x: (B, C, H, W).
        pixels: 0 <= pixels < W.

    Returns:
        (B, C, H, W).
    """
    out = torch.zeros_like(x)
    out[..., pixels:] = x[..., : x.shape[-1] - pixels]
    return out


def perturb(x: torch.Tensor, perturbation: str, level: float = 0.1, seed: int = 0) -> torch.Tensor:
    """A perturbed copy of the images.

    Args:
        x: (B, C, H, W), pixels in [0, 1].
        perturbation: ``"noise"`` (x + level * eps, eps ~ N(0, I) seeded by ``seed``,
            clipped to [0, 1]) or ``"shift"`` (one pixel to the right; level unused).

    Raises:
        ValueError: unknown perturbation.
    """
    if perturbation == "noise":
        eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed), dtype=x.dtype)
        return (x + level * eps.to(x.device)).clamp(0.0, 1.0)
    if perturbation == "shift":
        return shift_images(x, 1)
    raise ValueError(f"perturbation must be one of {list(PERTURBATIONS)}, got {perturbation!r}")


@torch.no_grad()
def code_moves(encode: Encode, x: torch.Tensor, perturbation: str, level: float = 0.1,
               seed: int = 0, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes of the images and of their perturbed copies.

    Returns:
        (h(x), h(x')), each (B, D), where x' = :func:`perturb` (x, perturbation, level, seed).
    """
    clean, moved = [], []
    for start in range(0, len(x), batch_size):
        part = x[start : start + batch_size]
        clean.append(encode(part))
        moved.append(encode(perturb(part, perturbation, level, seed + start)))
    return torch.cat(clean), torch.cat(moved)


def contraction_summary(encode: Encode, x: torch.Tensor, noise_level: float = 0.1, seed: int = 0,
                        batch_size: int = 1000) -> dict[str, float]:
    """What contraction means, measured on a data set (the Contractive AE page's numbers).

    Args:
        encode: images -> codes (B, D) (a model's ``encode(x)[0]``, mu for a VAE).
        x: (N, C, H, W), pixels in [0, 1].
        noise_level: std of the Gaussian perturbation (pixel units).
        seed: seed of that noise.

    Returns:
        ``jacobian``: mean over images of ||J_h(x)||_F (code units per unit of pixel value);
        ``spread``: sqrt(trace Cov(h)), the root-mean-square distance of a code from the
        codes' mean (code units); ``noise``, ``shift``: the mean distance ||h(x') - h(x)||
        a code moves under Gaussian noise of std ``noise_level`` and under a one-pixel
        shift (code units); and each of these three divided by ``spread``
        (``jacobian_relative``, ``noise_relative``, ``shift_relative``), which a rescaled
        code leaves unchanged, so models whose codes span different ranges compare.
    """
    norms = torch.cat([jacobian_frobenius_sq(encode, x[s : s + batch_size]).sqrt()
                       for s in range(0, len(x), batch_size)])
    result = {"jacobian": float(norms.double().mean())}
    for perturbation in PERTURBATIONS:
        h, moved = code_moves(encode, x, perturbation, noise_level, seed, batch_size)
        result[perturbation] = float((moved - h).double().norm(dim=1).mean())
    result["spread"] = float(h.double().var(0, unbiased=False).sum().sqrt())
    for name in ("jacobian", *PERTURBATIONS):
        result[f"{name}_relative"] = result[name] / result["spread"]
    return result
