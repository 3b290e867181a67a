"""Which training labels a semi-supervised run may read (Kingma et al. 2014, Sec. 4.1: a
number of labelled images balanced over the classes, the rest unlabelled), and how a
training epoch pairs them (:func:`semi_supervised_batches`)."""

from __future__ import annotations

import math

import torch


def select_labels(labels: torch.Tensor, count: int | None, seed: int, num_classes: int) -> torch.Tensor:
    """A seeded mask of ``count`` known labels, balanced over the classes.

    Every class gets ``count // num_classes`` images, and ``count % num_classes`` classes
    drawn at random one more (100 labels of 10 digits: 10 per digit); the images of a
    class are drawn uniformly at random. Same labels, count and seed: the same mask
    (a generator of its own; the global RNG is untouched).

    Args:
        labels: (N,) int64 labels in [0, num_classes).
        count: how many labels to keep known; None: all of them.
        seed: seeds the draw.
        num_classes: K.

    Returns:
        (N,) bool on ``labels``' device, True where the label is known.

    Raises:
        ValueError: count < 1 or above N, or a class with fewer images than its share.
    """
    n = len(labels)
    if count is None:
        return torch.ones(n, dtype=torch.bool, device=labels.device)
    if not 1 <= count <= n:
        raise ValueError(f"the number of known labels must be between 1 and the {n:,} training images, got {count}")
    g = torch.Generator().manual_seed(seed)
    labels_cpu = labels.cpu()
    shares = torch.full((num_classes,), count // num_classes)
    shares[torch.randperm(num_classes, generator=g)[: count % num_classes]] += 1
    known = torch.zeros(n, dtype=torch.bool)
    for c in range(num_classes):
        rows = (labels_cpu == c).nonzero().squeeze(1)
        if len(rows) < shares[c]:
            raise ValueError(f"{count} labels balanced over {num_classes} classes need {int(shares[c])} images "
                             f"of class {c}; the training images hold {len(rows)}")
        known[rows[torch.randperm(len(rows), generator=g)[: int(shares[c])]]] = True
    return known.to(labels.device)


def semi_supervised_batches(known: torch.Tensor, batch_size: int, generator: torch.Generator):
    """Row indices for one epoch of semi-supervised training (Kingma et al. 2014, M2).

    One pass over the unlabelled rows in minibatches of ``batch_size``; every step also
    takes the next ``min(batch_size, N_l)`` labelled rows from a cycled, reshuffled order of
    the N_l labelled rows, so each step sees labelled images however few they are (100
    labels of 60,000 would otherwise reach one step in six). With no unlabelled rows (every
    label known) the pass runs over the labelled rows alone.

    Args:
        known: (N,) bool mask of the known labels (at least one True).
        batch_size: unlabelled images per step.
        generator: source of the orders.

    Returns:
        A list of (labelled rows (B_l,), unlabelled rows (B_u,)) int64 pairs, one per step.
    """
    device = known.device
    labelled = known.nonzero().squeeze(1)
    unlabelled = (~known).nonzero().squeeze(1)
    if len(unlabelled) == 0:
        order = labelled[torch.randperm(len(labelled), generator=generator, device=device)]
        empty = order[:0]
        return [(order[i : i + batch_size], empty) for i in range(0, len(order), batch_size)]
    order = unlabelled[torch.randperm(len(unlabelled), generator=generator, device=device)]
    steps = math.ceil(len(order) / batch_size)
    size = min(batch_size, len(labelled))
    passes = math.ceil(steps * size / len(labelled))
    cycled = torch.cat([labelled[torch.randperm(len(labelled), generator=generator, device=device)]
                        for _ in range(passes)])
    return [(cycled[i * size : (i + 1) * size], order[i * batch_size : (i + 1) * batch_size]) for i in range(steps)]


def epoch_batches(n: int, known: torch.Tensor | None, batch_size: int,
                  generator: torch.Generator) -> list[torch.Tensor]:
    """Row indices of every step of one training epoch over ``n`` rows: a fresh permutation
    sliced into ``batch_size`` rows; with a mask of known labels (semi-supervised), each
    step's labelled rows followed by its unlabelled rows (:func:`semi_supervised_batches`).

    Returns:
        One (B,) int64 tensor per step, on the generator's device.
    """
    if known is None:
        order = torch.randperm(n, generator=generator, device=generator.device)
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    return [torch.cat(pair) for pair in semi_supervised_batches(known, batch_size, generator)]
