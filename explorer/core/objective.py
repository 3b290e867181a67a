"""The training objective: negative ELBO = reconstruction + KL, in nats per image.

Kingma & Welling (2013), "Auto-Encoding Variational Bayes", Eq. 10 with the
closed-form KL of Appendix B; beta weights the KL in the training loss only
(Higgins et al. 2017). A deterministic model (``is_variational`` False) has no KL and no
ELBO: its loss is the reconstruction term. A conditional model's terms are conditional
on the label y. The reconstruction is scored by the model's likelihood object against a
``target`` that may differ from the input (a denoising AE passes the clean image).

:func:`iw_loss_terms` is the other objective: the k-sample importance-weighted bound of
Burda, Grosse & Salakhutdinov (2015), Eq. 8, whose k = 1 case is the ELBO; its
log-weights (:func:`log_importance_weights`) are also what the evaluation's
importance-sampled -log p(x) (:mod:`explorer.core.iwae`) sums.

A semi-supervised model (M2, Kingma et al. 2014) has its own terms: the labelled bound
L(x, y) (Eq. 6) where the label is known, the unlabelled bound U(x) (Eq. 7) where it is
not, and alpha times the classification loss on the labelled images (Eq. 9); see
:func:`labelled_bound`, :func:`unlabelled_bound`, :func:`classification_weight`.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

from explorer.core.config import TrainConfig
from explorer.core.models import Autoencoder


class LossTerms(NamedTuple):
    """Per-image terms, each shape (B,), in nats.

    Attributes:
        reconstruction: -log p(x|z) summed over pixels, for one z drawn from q(z|x)
            (the code itself for a deterministic model).
        kl: KL(q(z|x) || N(0, I)); zeros for a deterministic model.
        loss: reconstruction + beta * kl, what training minimises (for a contractive AE
            in training mode, reconstruction + its penalty, Rifai et al. 2011).
    """

    reconstruction: torch.Tensor
    kl: torch.Tensor
    loss: torch.Tensor


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag sigma^2) || N(0, I)) per row, in nats.

    Closed form from Kingma & Welling (2013), Appendix B:
    -1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2).

    Args:
        mu, logvar: (B, latent_dim); logvar = log sigma^2.

    Returns:
        (B,) nats.
    """
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def loss_terms(
    model: Autoencoder,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    target: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    *,
    known: torch.Tensor | None = None,
    classification_weight: float = 0.0,
) -> LossTerms:
    """Per-image reconstruction, KL and loss for one forward pass.

    Args:
        model: any model of the family (:func:`explorer.core.models.build_model`).
        x: input images (B, C, H, W), pixels in [0, 1].
        y: (B,) int64 labels; required by a conditional model, ignored otherwise.
        target: images to reconstruct, default ``x`` (a denoising AE passes the clean ones).
        generator: source of the reparameterization noise, for reproducible draws.
        known: semi-supervised model only: (B,) bool, which labels of ``y`` are known
            (None: all of them when y is given, none when y is None); an unknown label is
            never read.
        classification_weight: semi-supervised model only: the weight of -log q(y|x) per
            labelled image (:func:`classification_weight`; 0 in evaluation).

    Returns:
        :class:`LossTerms`, each (B,) nats.

    Raises:
        ValueError: wrong shapes, or a conditional model without y.
    """
    if model.is_semi_supervised:
        return semi_supervised_terms(model, x, y, known, classification_weight, target, generator)
    out = model(x, y, generator=generator)
    rec = model.likelihood.nll(out.params, x if target is None else target)
    if not model.is_variational:
        # A contractive AE's penalty (Rifai et al. 2011) is a training regulariser, on the
        # (possibly corrupted) input; in eval mode the loss is the reconstruction.
        penalty = model.penalty(x, y, generator) if model.training and torch.is_grad_enabled() else None
        return LossTerms(rec, torch.zeros_like(rec), rec if penalty is None else rec + penalty)
    kl = kl_divergence(out.mu, out.logvar)
    return LossTerms(rec, kl, rec + model.config.beta * kl)


def log_importance_weights(
    model: Autoencoder,
    target: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    eps: torch.Tensor,
    y: torch.Tensor | None = None,
    decode: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """log w_s = log p(x|z_s) + log p(z_s) - log q(z_s|x) for z_s = mu + sigma * eps_s.

    With p(z) = N(0, I) and q(z|x) = N(mu, diag sigma^2), log p(z) - log q(z|x) =
    -1/2 sum_j (z_j^2 - eps_j^2 - logvar_j) (the 2 pi terms cancel; (z - mu) / sigma = eps).
    Differentiable in the model's weights (reparameterization, Burda et al. 2015, Eq. 13).

    Args:
        model: a variational model.
        target: the B images scored (B, C, H, W), pixels in [0, 1].
        mu, logvar: posterior parameters (B, latent_dim).
        eps: standard normal noise (S, B, latent_dim).
        y: (B,) labels for a conditional model.
        decode: (S * B, L) codes and (S * B,) labels -> decoder outputs; default
            ``model.decode`` (the evaluation passes its faster equal one, see
            :mod:`explorer.core.iwae`).

    Returns:
        (log_w, reconstruction): each (S, B), nats; reconstruction = -log p(x|z_s).
    """
    s, b, latent_dim = eps.shape
    z = mu + torch.exp(0.5 * logvar) * eps  # (S, B, L)
    params = (model.decode if decode is None else decode)(z.reshape(s * b, latent_dim), None if y is None else y.repeat(s))
    reconstruction = model.likelihood.nll_samples(params.reshape(s, b, *params.shape[1:]), target)
    log_pz_qz = -0.5 * (z.pow(2) - eps.pow(2) - logvar).sum(dim=-1)
    return log_pz_qz - reconstruction, reconstruction


def iw_loss_terms(
    model: Autoencoder,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    target: torch.Tensor | None = None,
    k: int = 5,
    generator: torch.Generator | None = None,
) -> LossTerms:
    """Per-image terms of the importance-weighted bound (Burda et al. 2015, Eq. 8):

        L_k(x) = log (1/k) sum_{s=1..k} p(x, z_s) / q(z_s|x),  z_s ~ q(z|x).

    L_1 is the ELBO estimated with one sample (its expectation equals the ELBO of
    :func:`loss_terms`); L_k rises towards log p(x) with k. Training on -L_k is the IWAE.

    Args:
        model: a variational model (beta does not enter: the bound has no KL weight).
        x: input images (B, C, H, W), pixels in [0, 1].
        y: (B,) labels; required by a conditional model.
        target: images to score, default ``x``.
        k: samples per image, >= 1.
        generator: source of the noise.

    Returns:
        :class:`LossTerms`: ``loss`` = -L_k; ``reconstruction`` the mean over the k samples
        of -log p(x|z_s); ``kl`` the closed-form KL(q(z|x) || p(z)) (reported, not used).

    Raises:
        ValueError: a model without a posterior, or k < 1.
    """
    if not model.is_variational:
        raise ValueError(f"{type(model).__name__} has no posterior q(z|x): the importance-weighted "
                         "bound needs a variational model")
    if k < 1:
        raise ValueError(f"k must be >= 1 samples, got {k}")
    mu, logvar = model.encode(x, y)
    eps = torch.randn((k, *mu.shape), generator=generator, dtype=mu.dtype, device=mu.device)
    log_w, reconstruction = log_importance_weights(model, x if target is None else target, mu, logvar, eps, y)
    bound = torch.logsumexp(log_w, dim=0) - math.log(k)
    return LossTerms(reconstruction.mean(dim=0), kl_divergence(mu, logvar), -bound)


# --- Semi-supervised M2 (Kingma, Rezende, Mohamed & Welling 2014) ----------------------

#: alpha = ALPHA_FRACTION * N, N the number of training images (Kingma et al. 2014, Sec. 3.1.1:
#: "we use alpha = 0.1 * N in all experiments"): ``TrainConfig.alpha_fraction``'s default.
ALPHA_FRACTION = TrainConfig.alpha_fraction


def classification_weight(num_images: int, num_labelled: int, fraction: float = ALPHA_FRACTION) -> float:
    """The weight of -log q(y|x) per labelled image in the per-image loss: alpha / N_l.

    Eq. 9 adds alpha * E_{p~_l(x, y)}[-log q(y|x)], an *average* over the N_l labelled
    images, to sums over all N images; with alpha = 0.1 * N (Sec. 3.1.1) each labelled
    image's classification loss carries 0.1 * N / N_l (60 for 100 labels of 60,000);
    ``fraction`` is alpha / N (``TrainConfig.alpha_fraction``).

    The trainer (:func:`explorer.core.train.train`) adds the mean of L(x, y) + weight *
    (-log q(y|x)) over a labelled minibatch to the mean of U(x) over an unlabelled one at
    every step, so -log q(y|x) weighs ``weight`` times a per-image bound (about 100 nats):
    mixing the labelled images into the unlabelled stream instead dilutes it by N_l / N
    to 0.1 per image, which the bounds swamp (measured: 57 % test error at 100 labels).

    Raises:
        ValueError: no labelled images.
    """
    if num_labelled < 1:
        raise ValueError("semi-supervised training needs at least one known label")
    return fraction * num_images / num_labelled


def paired_mean(loss: torch.Tensor, known: torch.Tensor | None) -> torch.Tensor:
    """The training loss of a step: ``loss.mean()``, or with a mask of known labels the mean
    over the labelled rows plus the mean over the unlabelled rows (each present one), so a
    labelled minibatch weighs as much as an unlabelled one (see :func:`classification_weight`).

    Args:
        loss: (B,) per-image losses; known: (B,) bool or None.
    """
    if known is None:
        return loss.mean()
    return sum(loss[rows].mean() for rows in (known, ~known) if bool(rows.any()))


class Bound(NamedTuple):
    """Per-image terms of an M2 bound, each (B,) nats; ``bound`` is the negative lower
    bound (a loss): L(x, y) = reconstruction + kl - log p(y), or U(x)."""

    reconstruction: torch.Tensor
    kl: torch.Tensor
    bound: torch.Tensor


def labelled_bound(model: Autoencoder, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None = None,
                   generator: torch.Generator | None = None) -> Bound:
    """L(x, y) of Kingma et al. (2014), Eq. 6, for one z ~ q(z|x, y) per image:

    -L(x, y) = E_q(z|x,y)[log p(x|y, z) + log p(y) + log p(z) - log q(z|x, y)]
             = -reconstruction - KL(q(z|x, y) || N(0, I)) + log p(y),

    with p(y) uniform over the K classes (log p(y) = -log K) and the KL in closed form
    (Kingma & Welling 2013, Appendix B). beta (``config.beta``) weights the KL, 1 in the paper.

    Args:
        model: a conditional model (M2).
        x: (B, C, H, W), pixels in [0, 1]; y: (B,) int64 labels.
        target: images to reconstruct (default x).
        generator: source of the noise.

    Returns:
        :class:`Bound`, each (B,) nats; L(x, y) >= -log p(x, y).
    """
    f = model.features(x)
    return _labelled_bound_of_features(model, f, y, f if target is None else model.features(target), generator)


def _labelled_bound_of_features(model: Autoencoder, f: torch.Tensor, y: torch.Tensor, t: torch.Tensor,
                                generator: torch.Generator | None) -> Bound:
    """L(x, y) from the model's features f of the input and t of the target (M2: the images;
    M1+M2: the M1 codes, whose likelihood the decoder gives)."""
    out = model.forward_features(f, y, generator)
    rec = model.likelihood.nll(out.params, t)
    kl = kl_divergence(out.mu, out.logvar)
    return Bound(rec, kl, rec + model.config.beta * kl + math.log(model.config.num_classes))


def unlabelled_bound(model: Autoencoder, x: torch.Tensor, target: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> Bound:
    """U(x) of Kingma et al. (2014), Eq. 7, summing over every label y:

    -U(x) = sum_y q(y|x) (-L(x, y)) + H(q(y|x)),  i.e.  U(x) = sum_y q(y|x) L(x, y) - H(q(y|x)),

    L(x, y) from :func:`labelled_bound` with one z per (image, label). The K passes run as
    one batch of K * B rows, label-major: rows k * B .. (k + 1) * B - 1 hold label k (the
    noise is drawn in that order).

    Returns:
        :class:`Bound`, each (B,) nats: reconstruction and kl are their expectations under
        q(y|x); bound is U(x) >= -log p(x).
    """
    k, b = model.config.num_classes, len(x)
    f = model.features(x)  # once per image (M1+M2: one pass of the M1 encoder, not K)
    t = f if target is None else model.features(target)
    log_q = F.log_softmax(model.classify_features(f), dim=1)  # (B, K)
    q = log_q.exp()
    ys = torch.arange(k, device=x.device).repeat_interleave(b)  # (K * B,) label-major
    fs = f.repeat(k, *([1] * (f.dim() - 1)))
    ts = t.repeat(k, *([1] * (t.dim() - 1)))
    rec, kl, bound = (v.view(k, b).T for v in _labelled_bound_of_features(model, fs, ys, ts, generator))  # (B, K)
    entropy = -(q * log_q).sum(dim=1)
    return Bound((q * rec).sum(dim=1), (q * kl).sum(dim=1), (q * bound).sum(dim=1) - entropy)


def semi_supervised_terms(model: Autoencoder, x: torch.Tensor, y: torch.Tensor | None,
                          known: torch.Tensor | None = None, weight: float = 0.0,
                          target: torch.Tensor | None = None,
                          generator: torch.Generator | None = None) -> LossTerms:
    """Per-image terms of J^alpha, Kingma et al. (2014), Eq. 9:

    J^alpha = sum_{labelled} L(x, y) + sum_{unlabelled} U(x) + alpha * E_{labelled}[-log q(y|x)],

    so a labelled image's loss is L(x, y) + ``weight`` * (-log q(y|x)) (``weight`` =
    alpha / N_l, :func:`classification_weight`) and an unlabelled image's is U(x).

    Args:
        model: a semi-supervised model (M2).
        x: (B, C, H, W); y: (B,) labels, read only where ``known``.
        known: (B,) bool; None: all known when y is given, none when y is None.
        weight: weight of -log q(y|x) per labelled image.

    Returns:
        :class:`LossTerms`, each (B,) nats: reconstruction and kl are those of L(x, y) for
        a labelled image and their expectations under q(y|x) for an unlabelled one.

    Raises:
        ValueError: known labels without y, or shapes that do not match.
    """
    b = len(x)
    if known is None:
        known = torch.full((b,), y is not None, dtype=torch.bool, device=x.device)
    if known.shape != (b,) or known.dtype != torch.bool:
        raise ValueError(f"known must be a bool mask of shape ({b},), got {known.dtype} {tuple(known.shape)}")
    if y is None and bool(known.any()):
        raise ValueError("known labels need the labels y")
    rec, kl, loss = (torch.zeros(b, dtype=x.dtype, device=x.device) for _ in range(3))
    lab, unl = known.nonzero().squeeze(1), (~known).nonzero().squeeze(1)
    sub = (lambda i: None) if target is None else (lambda i: target[i])
    if len(lab):
        terms = labelled_bound(model, x[lab], y[lab], sub(lab), generator)
        cross_entropy = F.cross_entropy(model.classify(x[lab]), y[lab].long(), reduction="none")
        rec, kl = rec.index_put((lab,), terms.reconstruction), kl.index_put((lab,), terms.kl)
        loss = loss.index_put((lab,), terms.bound + weight * cross_entropy)
    if len(unl):
        terms = unlabelled_bound(model, x[unl], sub(unl), generator)
        rec, kl = rec.index_put((unl,), terms.reconstruction), kl.index_put((unl,), terms.kl)
        loss = loss.index_put((unl,), terms.bound)
    return LossTerms(rec, kl, loss)
