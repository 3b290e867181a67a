"""MNIST from the gzip-compressed IDX files this repository ships.

The four original IDX files live, gzip-compressed, in ``data/MNIST/raw/`` next to a
``SHA256SUMS`` file. :func:`load_mnist` verifies them, decompresses each one next to
itself on first use (``torchvision.datasets.MNIST`` reads the uncompressed names), and
loads both splits through torchvision with ``download=False``: nothing is ever fetched
from the network.

The uncompressed files are verified too: when one is unpacked (or fully checked against
its ``.gz``), its size, modification time and SHA-256 are recorded in the sidecar file
``.unpacked.json``; later loads compare size and modification time (cheap) and hash
the file again only when they differ. A file edited or replaced since (say, the
training images copied over the test images) gives a :class:`DataError`.

Source: Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST database of handwritten
digits"; license CC BY-SA 3.0 (see ``data/MNIST/README.md``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import torch

from explorer.core.config import IMAGE_SHAPE, NUM_CLASSES  # noqa: F401  (re-exported)
from explorer.core.files import atomic_write, reap_stale_temporaries

#: Folder that holds ``MNIST/raw/`` (the layout torchvision expects).
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "data"
DATASET_NAME = "MNIST"
CHECKSUM_FILE = "SHA256SUMS"
#: Sidecar recording each uncompressed file's size, mtime and SHA-256 (git-ignored).
UNPACKED_RECORD = ".unpacked.json"
#: Images in each split of MNIST (LeCun et al.): 60,000 for training, 10,000 for testing.
SPLIT_SIZES = {True: 60_000, False: 10_000}
#: The probe digits (:func:`probe_digits`): the first :data:`PROBE_PER_LABEL` test images of
#: each label, shipped next to the raw files and checked against :data:`PROBE_SHA256`.
PROBE_FILE = "probe-digits.safetensors"
PROBE_PER_LABEL = 10
PROBE_SHA256 = "eb0d655834cd94cd47f6cd4f49cd1823de78904036999421bb2536ddb410c8bf"
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

_FIX_HINT = (
    "The repository ships these files (four .gz files and SHA256SUMS) under data/MNIST/raw/. "
    "Restore them with `git checkout -- data/MNIST/raw`."
)


def _shown(path: Path | str) -> str:
    """``path`` as an error message names it: relative to the repository when inside it,
    else its file name alone (messages name no folders outside the repository)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path(__file__).resolve().parents[2]))
    except (ValueError, OSError):
        return path.name


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


def _regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _read_checksums(folder: Path) -> dict[str, str]:
    """``SHA256SUMS`` as file name -> hex digest.

    Raises:
        DataError: missing, unreadable, or a line that is not ``<64 hex digits> <name>``.
    """
    path = folder / CHECKSUM_FILE
    if not _regular_file(path):
        raise DataError(f"MNIST checksum file missing: {_shown(path)}. {_FIX_HINT}")
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"MNIST checksum file unreadable: {_shown(path)} ({exc}). {_FIX_HINT}") from exc
    sums = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            raise DataError(f"MNIST checksum file corrupt: {_shown(path)}, line {number} is not "
                            f"'<SHA-256> <file name>'. {_FIX_HINT}")
        sums[parts[1].lstrip("*")] = parts[0]
    return sums


def _read_record(folder: Path) -> dict:
    """The sidecar's records, or {} if it is missing or unreadable (then files are hashed)."""
    try:
        record = json.loads((folder / UNPACKED_RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _write_record(folder: Path, record: dict) -> None:
    try:
        atomic_write(folder / UNPACKED_RECORD, json.dumps(record, indent=1).encode())
    except OSError:
        return  # read-only folder: files are hashed on every load instead


def _unpack(gz: Path, target: Path) -> str:
    """Decompress ``gz`` to ``target`` atomically; the SHA-256 of the uncompressed bytes.

    Raises:
        DataError: not valid gzip, or the folder is not writable.
    """
    digest = hashlib.sha256()

    def copy(dst) -> None:
        with gzip.open(gz, "rb") as src:
            for block in iter(lambda: src.read(1 << 20), b""):
                digest.update(block)
                dst.write(block)

    try:
        atomic_write(target, copy)
    except Exception as exc:
        raise DataError(f"Could not decompress {_shown(gz)}: {exc}. {_FIX_HINT}") from exc
    return digest.hexdigest()


def _gunzip_sha256(gz: Path) -> str:
    digest = hashlib.sha256()
    try:
        with gzip.open(gz, "rb") as src:
            for block in iter(lambda: src.read(1 << 20), b""):
                digest.update(block)
    except Exception as exc:
        raise DataError(f"Could not decompress {_shown(gz)}: {exc}. {_FIX_HINT}") from exc
    return digest.hexdigest()


def _verify_unpacked(gz: Path, target: Path, gz_sha256: str, record: dict) -> bool:
    """Check (or create) the uncompressed ``target`` of ``gz``; True if ``record`` changed.

    Raises:
        DataError: ``target`` is not a regular file, or its bytes differ from ``gz``'s.
    """
    if not os.path.lexists(target):
        sha = _unpack(gz, target)
    elif not _regular_file(target):
        raise DataError(f"MNIST file {_shown(target)} is not a regular file. Delete it (not the .gz file) so it "
                        "is unpacked again.")
    else:
        info = os.stat(target)
        entry = record.get(target.name)
        if (isinstance(entry, dict) and entry.get("source_sha256") == gz_sha256
                and entry.get("size") == info.st_size and entry.get("mtime_ns") == info.st_mtime_ns):
            return False  # unchanged since its last full check
        expected = _gunzip_sha256(gz)
        sha = _sha256(target)
        if sha != expected:
            raise DataError(
                f"MNIST file corrupt: {_shown(target)} does not match {gz.name} (edited, replaced or damaged "
                f"since it was unpacked). Delete {_shown(target)} (not the .gz file) so it is unpacked again."
            )
    info = os.stat(target)
    record[target.name] = {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "sha256": sha,
                           "source_sha256": gz_sha256}
    return True


def prepare_mnist(root: Path | str = DEFAULT_ROOT) -> dict[str, str]:
    """Verify the shipped ``.gz`` files and their uncompressed copies for torchvision.

    Each ``<name>.gz`` is checked against ``SHA256SUMS``; its uncompressed ``<name>`` is
    written next to it (through a temporary file and an atomic rename) when absent, and
    otherwise checked against its record in :data:`UNPACKED_RECORD` (size and mtime; a
    full SHA-256 against the decompressed ``.gz`` when they differ or no record exists).
    Temporary files of killed unpacks are removed.

    Args:
        root: folder holding ``MNIST/raw/``.

    Returns:
        The SHA-256 of each ``.gz`` file, keyed by file name.

    Raises:
        DataError: a file is missing, fails its checksum, is not valid gzip, an
            uncompressed file differs from its ``.gz``, or ``SHA256SUMS`` is malformed;
            the message names the file and how to restore it.
    """
    folder = raw_dir(root)
    sums = _read_checksums(folder)
    reap_stale_temporaries(folder)
    record = _read_record(folder)
    changed = False
    checked = {}
    for name in FILES:
        gz = folder / f"{name}.gz"
        if not _regular_file(gz):
            raise DataError(f"MNIST file missing: {_shown(gz)}. {_FIX_HINT}")
        expected = sums.get(gz.name)
        actual = _sha256(gz)
        if expected is None or actual != expected:
            raise DataError(
                f"MNIST file corrupt: {_shown(gz)} has SHA-256 {actual}, expected {expected}. "
                f"{_FIX_HINT}"
            )
        checked[gz.name] = actual
        changed |= _verify_unpacked(gz, folder / name, actual, record)
    if changed:
        _write_record(folder, record)
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
    check_split_sizes(train, len(dataset.data), len(dataset.targets))
    return dataset.data.unsqueeze(1).float().div_(255.0), dataset.targets.long()


def check_split_sizes(train: bool, num_images: int, num_labels: int) -> None:
    """Refuse a split whose image and label counts differ or are not MNIST's
    (:data:`SPLIT_SIZES`: 60,000 training, 10,000 test images).

    Raises:
        DataError: the counts, in one sentence, and how to restore the files.
    """
    split = "training" if train else "test"
    expected = SPLIT_SIZES[train]
    if num_images != num_labels:
        problem = f"{num_images:,} images but {num_labels:,} labels"
    elif num_images != expected:
        problem = f"{num_images:,} images and labels, not MNIST's {expected:,}"
    else:
        return
    raise DataError(f"The MNIST {split} split in data/MNIST/raw/ has {problem}. Restore the shipped files "
                    "with `git checkout -- data/MNIST/raw` and delete the unpacked ones next to them.")


def select_probe_rows(labels: torch.Tensor, per_label: int = PROBE_PER_LABEL) -> torch.Tensor:
    """Rows of the first ``per_label`` images of each label 0-9, in label order.

    Args:
        labels: (N,) int64 labels of a split (the test split for the probe).

    Returns:
        (10 * per_label,) int64 row indices.

    Raises:
        ValueError: some label has fewer than ``per_label`` images.
    """
    rows = []
    for label in range(NUM_CLASSES):
        found = torch.nonzero(labels == label).flatten()[:per_label]
        if len(found) < per_label:
            raise ValueError(f"label {label} has {len(found)} images, fewer than {per_label}")
        rows.append(found)
    return torch.cat(rows)


def write_probe_digits(path: Path | str, root: Path | str = DEFAULT_ROOT) -> str:
    """Write the probe file (uint8 ``images`` (N, 28, 28), int64 ``labels`` and ``rows``)
    from the verified test split; returns its SHA-256 (for :data:`PROBE_SHA256`)."""
    from safetensors.torch import save_file

    images, labels = load_split(False, root)
    rows = select_probe_rows(labels)
    pixels = images[rows, 0].mul(255).round().to(torch.uint8)
    save_file({"images": pixels, "labels": labels[rows].clone(), "rows": rows.clone()}, str(path),
              metadata={"what": f"the first {PROBE_PER_LABEL} MNIST test images of each label 0-9"})
    return _sha256(Path(path))


_probe_cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}


def probe_digits(root: Path | str = DEFAULT_ROOT) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed, small, stratified sample of real MNIST test digits (the load-time probe of
    :func:`explorer.core.limits.absurd_outputs`): the first :data:`PROBE_PER_LABEL` test
    images of each label, read from :data:`PROBE_FILE` (8 KB per label) and checked against
    :data:`PROBE_SHA256`; read once per process.

    Returns:
        (images, labels): float32 (100, 1, 28, 28) in [0, 1] and int64 (100,), labels 0-9.

    Raises:
        DataError: the file is missing or does not match its checksum.
    """
    path = raw_dir(root).parent / PROBE_FILE
    key = str(path)
    if key not in _probe_cache:
        from safetensors.torch import load

        try:
            data = path.read_bytes() if _regular_file(path) else None
        except OSError:
            data = None
        if data is None or hashlib.sha256(data).hexdigest() != PROBE_SHA256:
            raise DataError(f"The probe digits file {PROBE_FILE} in data/MNIST/ is missing or damaged. "
                            f"Restore it with `git checkout -- data/MNIST/{PROBE_FILE}`.")
        tensors = load(data)
        _probe_cache[key] = (tensors["images"].unsqueeze(1).float().div_(255.0), tensors["labels"].long())
    return _probe_cache[key]


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
