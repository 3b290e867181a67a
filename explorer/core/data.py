"""MNIST from the gzip-compressed IDX files this repository ships.

The four original IDX files live, gzip-compressed, in ``data/MNIST/raw/`` next to a
``SHA256SUMS`` file. :func:`load_mnist` verifies them, decompresses each one next to
itself on first use (``torchvision.datasets.MNIST`` reads the uncompressed names), and
loads both splits through torchvision with ``download=False``: nothing is ever fetched
from the network.

Source: Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST database of handwritten
digits"; license CC BY-SA 3.0 (see ``data/MNIST/README.md``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from explorer.core.config import IMAGE_SHAPE, NUM_CLASSES  # noqa: F401  (re-exported)

#: Folder that holds ``MNIST/raw/`` (the layout torchvision expects).
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "data"
DATASET_NAME = "MNIST"
CHECKSUM_FILE = "SHA256SUMS"
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

_FIX_HINT = (
    "The repository ships these files under data/MNIST/raw/ (copied from "
    "shared/datasets/MNIST/raw/). Restore them with `git checkout -- data/MNIST/raw` "
    "or copy the four .gz files and SHA256SUMS from shared/datasets/MNIST/raw/."
)


class DataError(RuntimeError):
    """The MNIST files are missing, corrupt, or cannot be read."""


@dataclass(frozen=True)
class MNISTSplits:
    """Both MNIST splits as in-memory tensors.

    Attributes:
        train_images: float32, shape (60000, 1, 28, 28), pixels in [0, 1].
        train_labels: int64, shape (60000,), digits 0-9.
        test_images: float32, shape (10000, 1, 28, 28), pixels in [0, 1].
        test_labels: int64, shape (10000,), digits 0-9.
        checksums: SHA-256 of each shipped ``.gz`` file, keyed by file name.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    checksums: dict[str, str]

    def dataset_info(self) -> dict:
        """Name and file checksums, for storing inside a checkpoint."""
        return {"name": DATASET_NAME, "sha256": dict(self.checksums)}


def raw_dir(root: Path | str = DEFAULT_ROOT) -> Path:
    """The ``<root>/MNIST/raw`` folder that holds the IDX files."""
    return Path(root) / DATASET_NAME / "raw"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_checksums(folder: Path) -> dict[str, str]:
    path = folder / CHECKSUM_FILE
    if not path.is_file():
        raise DataError(f"MNIST checksum file missing: {path}. {_FIX_HINT}")
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name.lstrip("*")] = digest
    return sums


def prepare_mnist(root: Path | str = DEFAULT_ROOT) -> dict[str, str]:
    """Verify the shipped ``.gz`` files and decompress them for torchvision.

    Each ``<name>.gz`` is checked against ``SHA256SUMS``; its uncompressed ``<name>`` is
    written next to it (through a temporary file and an atomic rename) when absent.

    Args:
        root: folder holding ``MNIST/raw/``.

    Returns:
        The SHA-256 of each ``.gz`` file, keyed by file name.

    Raises:
        DataError: a file is missing, fails its checksum, or is not valid gzip.
    """
    folder = raw_dir(root)
    sums = _read_checksums(folder)
    checked = {}
    for name in FILES:
        gz = folder / f"{name}.gz"
        if not gz.is_file():
            raise DataError(f"MNIST file missing: {gz}. {_FIX_HINT}")
        expected = sums.get(gz.name)
        actual = _sha256(gz)
        if expected is None or actual != expected:
            raise DataError(
                f"MNIST file corrupt: {gz} has SHA-256 {actual}, expected {expected}. "
                f"{_FIX_HINT}"
            )
        checked[gz.name] = actual
        target = folder / name
        if not target.is_file():
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
            try:
                with gzip.open(gz, "rb") as src, os.fdopen(fd, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.replace(tmp, target)
            except (OSError, EOFError) as exc:
                Path(tmp).unlink(missing_ok=True)
                raise DataError(f"Could not decompress {gz}: {exc}. {_FIX_HINT}") from exc
    return checked


def load_split(
    train: bool, root: Path | str = DEFAULT_ROOT, verify: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one MNIST split into memory (the app needs only the test split).

    Args:
        train: True for the 60,000 training images, False for the 10,000 test images.
        root: folder holding ``MNIST/raw/`` with the shipped ``.gz`` files.
        verify: run :func:`prepare_mnist` first (skip only if it just ran).

    Returns:
        (images, labels): float32 (N, 1, 28, 28) in [0, 1] and int64 (N,).

    Raises:
        DataError: a file is missing or corrupt, or torchvision cannot parse it.
    """
    from torchvision.datasets import MNIST  # heavy import, kept off module import

    if verify:
        prepare_mnist(root)
    try:
        dataset = MNIST(str(root), train=train, download=False)
    except (RuntimeError, ValueError, AssertionError) as exc:
        # torchvision's "Dataset not found" and IDX parse errors
        raise DataError(
            f"torchvision could not read MNIST in {raw_dir(root)}: {exc}. Delete the "
            "uncompressed files there (not the .gz files) so they are rebuilt."
        ) from exc
    return dataset.data.unsqueeze(1).float().div_(255.0), dataset.targets.long()


def load_mnist(root: Path | str = DEFAULT_ROOT) -> MNISTSplits:
    """Load the MNIST train and test splits into memory.

    Args:
        root: folder holding ``MNIST/raw/`` with the shipped ``.gz`` files.

    Returns:
        :class:`MNISTSplits` with images as float32 (N, 1, 28, 28) in [0, 1] and
        labels as int64 (N,).

    Raises:
        DataError: a file is missing or corrupt, or torchvision cannot parse it.
    """
    checksums = prepare_mnist(root)
    return MNISTSplits(
        *load_split(True, root, verify=False), *load_split(False, root, verify=False),
        checksums=checksums,
    )
