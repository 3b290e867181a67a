"""Importance-sampled estimate of -log p(x): the k-sample bound of Burda, Grosse &
Salakhutdinov (2015), "Importance Weighted Autoencoders", Eq. 8.

    L_k(x) = E[ log (1/k) sum_{i=1..k} p(x, z_i) / q(z_i|x) ],  z_1..z_k ~ q(z|x),

with log p(x, z) = log p(x|z) + log p(z). L_1 is the ELBO, L_k <= L_{k+1} <= log p(x),
and L_k -> log p(x) as k grows (their Theorem 1), so -L_k is an upper bound on -log p(x)
that tightens with k and never exceeds -ELBO (in expectation). The weights are summed with
logsumexp, over chunks of samples and images so memory stays bounded whatever k is.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from explorer.core.models import Autoencoder
from explorer.core.networks import MLPDecoder
from explorer.core.objective import log_importance_weights

@torch.inference_mode()
def importance_weighted_nll(
    model: Autoencoder,
    images: torch.Tensor,
    labels: torch.Tensor | None = None,
    k: int = 1000,
    seed: int = 0,
    batch_size: int = 100,
    max_rows: int = 5_000,
    on_progress: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """-L_k per image: the importance-sampled estimate of -log p(x) in nats (Burda et al. 2015, Eq. 8).

    For each image, k codes z_i ~ q(z|x) are drawn, decoded, and
    -L_k = -(logsumexp_i [log p(x|z_i) + log p(z_i) - log q(z_i|x)] - log k), with
    p(z) = N(0, I) and -log p(x|z) from the model's likelihood (so a Gaussian decoder's
    value includes its normalising constant). For a conditional model every density is
    conditional on the true label y: the estimate is of -log p(x|y) (encoder q(z|x, y),
    decoder p(x|z, y), prior p(z)).

    Args:
        model: a variational model (``is_variational``); switched to eval mode while
            estimating, then restored.
        images: (N, C, H, W), pixels in [0, 1].
        labels: (N,) int64; required by a conditional model, ignored otherwise.
        k: importance samples per image, >= 1 (k = 1 is a one-sample ELBO estimate).
        seed: seeds a ``torch.Generator`` for every draw, so results repeat (for a fixed
            ``batch_size`` and ``max_rows``).
        batch_size: images encoded together (their k noise draws are held at once:
            k x batch_size x latent_dim numbers).
        max_rows: the noise is drawn in chunks of max_rows // batch_size samples of every
            image (this fixes which draw goes to which image). The decoder scores at most
            :data:`BLOCK_ROWS` rows at once, which bounds memory.
        on_progress: called after every block of decoded samples with the number of
            (image, sample) pairs it scored; they add up to ``len(images) * k`` (for a
            progress bar; the library draws none).

    Returns:
        (N,) float64, nats per image, on the images' device.

    Raises:
        ValueError: a deterministic model (no q(z|x), no estimate), k < 1, or a
            conditional model without labels.
    """
    if not model.is_variational:
        raise ValueError(f"{type(model).__name__} has no posterior q(z|x): the importance-sampled "
                         "log-likelihood needs a variational model")
    if k < 1:
        raise ValueError(f"k must be >= 1 importance samples, got {k}")
    if model.is_conditional and labels is None:
        raise ValueError("a conditional model needs the true labels of its images")
    was_training = model.training
    model.eval()
    generator = torch.Generator(device=images.device).manual_seed(seed)
    results = []
    try:
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size]
            y = None if labels is None or not model.is_conditional else labels[start : start + batch_size]
            results.append(_batch_nll(model, x, y, k, generator, max_rows, on_progress))
    finally:
        model.train(was_training)
    return torch.cat(results)


#: Most decoder rows scored together in one block: the samples of one image (or of a few
#: images when k is small), so the codes lie close together and the live-unit decoder
#: (:meth:`explorer.core.networks.MLPDecoder.forward_live`) skips most hidden units.
BLOCK_ROWS = 1000


def _decoder(model: Autoencoder) -> Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]:
    """(z, y) -> decoder outputs: an MLP decoder through its live units only (the same
    values, fewer products), any other through ``model.decode``."""
    if isinstance(model.decoder, MLPDecoder):
        return lambda z, y: model.decoder.forward_live(z, model.condition(y, len(z)))
    return model.decode


def _batch_nll(model: Autoencoder, x: torch.Tensor, y: torch.Tensor | None, k: int,
               generator: torch.Generator, max_rows: int,
               on_progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """-L_k for one batch of images (B,), float64, accumulating logsumexp over blocks.

    The noise is drawn as it always was (chunks of s codes of every image, s = max_rows //
    B), then scored image by image: a block holds up to :data:`BLOCK_ROWS` codes of one
    image (or all k codes of several images when k is small), decoded through the live
    hidden units only, with :func:`explorer.core.objective.log_importance_weights` (the
    training bound's own weights); the images are broadcast against the codes, never
    copied.
    """
    mu, logvar = model.encode(x, y)
    b, latent_dim = mu.shape
    chunk = max(1, min(k, max_rows // b))
    eps = torch.cat([torch.randn((min(chunk, k - done), b, latent_dim), generator=generator, dtype=mu.dtype,
                                 device=mu.device) for done in range(0, k, chunk)])  # (k, B, L)
    decode = _decoder(model)
    per_block = max(1, BLOCK_ROWS // k)  # images per block
    samples = min(k, BLOCK_ROWS)  # codes per image per block
    total = torch.full((b,), -math.inf, dtype=torch.float64, device=x.device)
    for first in range(0, b, per_block):
        images = slice(first, first + per_block)
        for done in range(0, k, samples):
            block = eps[done : done + samples, images]
            log_w, _ = log_importance_weights(model, x[images], mu[images], logvar[images], block,
                                              None if y is None else y[images], decode)
            total[images] = torch.logaddexp(total[images], torch.logsumexp(log_w.double(), dim=0))
            if on_progress is not None:
                on_progress(block.shape[0] * block.shape[1])
    return -(total - math.log(k))
