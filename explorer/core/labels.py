"""Which training labels a semi-supervised run may read (Kingma et al. 2014, Sec. 4.1: a
number of labelled images balanced over the classes, the rest unlabelled)."""

from __future__ import annotations

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
