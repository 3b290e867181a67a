"""Seconds for the importance-sampled -log p(x) (explorer.core.iwae) on a slice of the
test set, extrapolated to 10,000 images x k samples; with ``--baseline`` also the two
earlier implementations, timed one after the other in the same process on the same
images so all see about the same machine load: ``chunked`` (issue 22's first speed-up:
images broadcast, every hidden unit decoded) and ``before`` (before issue 22: each chunk
copied the images once per sample and scored them with the generic likelihood). All
three draw the same noise, so their means agree to float rounding.

    python -m bench.iw_bound [CHECKPOINT] [--images 200] [--k 500] [--full-k 5000] [--baseline] [--repeat 1] [--threads N]

Prints wall seconds and process CPU seconds (all threads) for each; the CPU seconds are
the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import math
import os
import time

from explorer.core.threads import configure_openmp

configure_openmp()  # as the command line does: OpenMP workers spin briefly, then sleep (before torch loads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


@torch.inference_mode()
def baseline_nll(model, images, labels=None, k=1000, seed=0, batch_size=100, max_rows=5_000):
    """The estimate as computed before issue 22 (same draws, same value): images repeated
    s times per chunk, -log p(x|z) from ``likelihood.nll``, log q and log p(z) in full."""
    log_2pi = math.log(2 * math.pi)
    model.eval()
    generator = torch.Generator(device=images.device).manual_seed(seed)
    results = []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        y = None if labels is None or not model.is_conditional else labels[start : start + batch_size]
        mu, logvar = model.encode(x, y)
        b, latent_dim = mu.shape
        chunk = max(1, min(k, max_rows // b))
        total = torch.full((b,), -math.inf, dtype=torch.float64)
        for done in range(0, k, chunk):
            s = min(chunk, k - done)
            eps = torch.randn((s, b, latent_dim), generator=generator, dtype=mu.dtype)
            z = mu + torch.exp(0.5 * logvar) * eps
            params = model.decode(z.reshape(s * b, latent_dim), None if y is None else y.repeat(s))
            log_px_z = -model.likelihood.nll(params, x.repeat(s, 1, 1, 1)).reshape(s, b)
            log_pz = -0.5 * (z.pow(2) + log_2pi).sum(dim=-1)
            log_qz = -0.5 * ((z - mu).pow(2) * torch.exp(-logvar) + logvar + log_2pi).sum(dim=-1)
            total = torch.logaddexp(total, torch.logsumexp((log_px_z + log_pz - log_qz).double(), dim=0))
        results.append(-(total - math.log(k)))
    return torch.cat(results)


@torch.inference_mode()
def chunked_nll(model, images, labels=None, k=1000, seed=0, batch_size=100, max_rows=5_000):
    """The estimate as computed between the two speed-ups of issue 22 (same draws, same
    value): chunks of s codes of all the batch's images (s = max_rows // batch_size),
    decoded through every hidden unit, the images broadcast against the codes, the
    Bernoulli's softplus one log per pixel."""
    from explorer.core.likelihoods import Bernoulli

    model.eval()
    generator = torch.Generator(device=images.device).manual_seed(seed)
    results = []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        y = None if labels is None or not model.is_conditional else labels[start : start + batch_size]
        mu, logvar = model.encode(x, y)
        b, latent_dim = mu.shape
        chunk = max(1, min(k, max_rows // b))
        total = torch.full((b,), -math.inf, dtype=torch.float64)
        for done in range(0, k, chunk):
            s = min(chunk, k - done)
            eps = torch.randn((s, b, latent_dim), generator=generator, dtype=mu.dtype)
            z = mu + torch.exp(0.5 * logvar) * eps
            params = model.decode(z.reshape(s * b, latent_dim), None if y is None else y.repeat(s))
            logits = params.reshape(s, b, -1)
            if isinstance(model.likelihood, Bernoulli):
                rec = F.softplus(logits).sum(dim=2) - torch.einsum("sbp,bp->sb", logits, x.flatten(1))
            else:
                rec = model.likelihood.nll_samples(params.reshape(s, b, *params.shape[1:]), x)
            log_w = -0.5 * (z.pow(2) - eps.pow(2) - logvar).sum(dim=-1) - rec
            total = torch.logaddexp(total, torch.logsumexp(log_w.double(), dim=0))
        results.append(-(total - math.log(k)))
    return torch.cat(results)


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def main() -> None:
    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("checkpoint", nargs="?", default="checkpoints/mnist_vae_z2.safetensors", help="a variational model")
    parser.add_argument("--images", type=int, default=200, help="test images to time on")
    parser.add_argument("--k", type=int, default=500, help="importance samples per image")
    parser.add_argument("--full-k", type=int, default=5000, help="k to extrapolate to (10,000 images)")
    parser.add_argument("--baseline", action="store_true", help="also time the implementation before issue 22")
    parser.add_argument("--repeat", type=int, default=1, help="rounds, each timing every version once (alternating)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    if args.threads:
        torch.set_num_threads(args.threads)
    from explorer.core.checkpoints import load_checkpoint
    from explorer.core.data import load_split
    from explorer.core.iwae import importance_weighted_nll

    model = load_checkpoint(args.checkpoint).model
    images, labels = load_split(train=False)
    x, y = images[: args.images], labels[: args.images]
    rows = args.images * args.k
    runs = {"now": lambda: importance_weighted_nll(model, x, y, k=args.k, seed=0)}
    if args.baseline:
        runs["chunked"] = lambda: chunked_nll(model, x, y, k=args.k, seed=0)
        runs["before"] = lambda: baseline_nll(model, x, y, k=args.k, seed=0)
    values = {}
    for round_ in range(1, args.repeat + 1):
        for name, fn in runs.items():
            load = os.getloadavg()[0]
            seconds, cpu, nll = _timed(fn)
            values[name] = nll
            full = 10_000 * args.full_k / rows
            print(f"{name:>7} (round {round_}, load average {load:.1f}): {args.checkpoint}: {args.images} images x "
                  f"k={args.k}: {seconds:.1f} s wall, {cpu:.1f} s CPU ({rows / seconds:,.0f} decoder passes/s, "
                  f"{torch.get_num_threads()} threads), mean {float(nll.mean()):.5f} nats; 10,000 x k={args.full_k}: "
                  f"about {seconds * full:.0f} s wall, {cpu * full:.0f} s CPU", flush=True)
    for name, nll in values.items():
        if name != "now":
            print(f"largest difference per image, now against {name}: {float((values['now'] - nll).abs().max()):.2e} nats")


if __name__ == "__main__":
    main()
