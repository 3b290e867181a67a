"""Self-describing checkpoint files, safe to load from anyone.

Format 2 (what every save writes) is a `safetensors <https://huggingface.co/docs/safetensors>`_
file: the ``state_dict`` as float32 tensors, and in its string metadata the format tag,
the version, ``contents`` (JSON: ``model_config``, ``train_config``, the per-epoch
``history``, the final test ``metrics`` in nats per image, the ``dataset`` name and
checksums, library ``versions``) and ``weights_sha256``, a SHA-256 of the weights
written at save and checked at load. safetensors holds no code and no compression, and
its header is read and checked before any tensor is.

Format 1 (``.pt`` files saved before, such as the shipped models) is a ``torch.save``
zip archive. It is still read, through a hardened path: every zip entry must be stored
uncompressed, its CRC-32 is checked (PyTorch does not), and ``torch.load(weights_only=True)``
runs no pickled code. Such a checkpoint carries no weights checksum and is marked
``verified=False``.

:func:`load_checkpoint` checks structure, types and sizes before it builds anything:
only regular files are opened (no FIFO hang), files are at most :data:`MAX_FILE_BYTES`,
metadata at most :data:`MAX_METADATA_BYTES`, the model its config declares at most
:data:`MAX_PARAMETERS` (computed from the config, nothing allocated), weights finite and
at most :data:`MAX_ABS_WEIGHT` in size, and the rebuilt model gives finite outputs on a
few probe images. Whatever is wrong, the only exception it raises is :class:`CheckpointError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import re
import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch

from explorer.core.config import IMAGE_SHAPE, ModelConfig, TrainConfig
from explorer.core.files import reap_stale_temporaries, temporary_file
from explorer.core.models import Autoencoder, build_model, num_parameters

FORMAT = "latent-space-explorer/checkpoint"
#: Version written by :func:`checkpoint_bytes` (safetensors); 1 is the legacy torch zip.
FORMAT_VERSION = 2
LEGACY_FORMAT_VERSION = 1
SUFFIX = ".safetensors"
LEGACY_SUFFIX = ".pt"
#: Suffixes of files the app lists as checkpoints.
CHECKPOINT_SUFFIXES = (SUFFIX, LEGACY_SUFFIX)
REQUIRED_KEYS = ("format", "format_version", "model_config", "train_config", "state_dict",
                 "history", "metrics", "dataset", "versions")
CONTENT_KEYS = ("model_config", "train_config", "history", "metrics", "dataset", "versions")

#: Largest model a checkpoint may declare (weights and biases), refused before building it.
MAX_PARAMETERS = 50_000_000
#: Largest metadata (safetensors header, or a legacy file's pickle), bytes; the history of
#: 500 epochs takes about 100 KB.
MAX_METADATA_BYTES = 1 << 20
#: Largest checkpoint file or upload, bytes: float32 weights of the largest model plus metadata.
MAX_FILE_BYTES = 4 * MAX_PARAMETERS + 2 * MAX_METADATA_BYTES
#: Most values (dict entries, list items) in the plain metadata, and its deepest nesting.
MAX_METADATA_VALUES = 100_000
MAX_METADATA_DEPTH = 16
#: Largest absolute weight accepted; trained weights of the shipped models are below 5.
MAX_ABS_WEIGHT = 1e4
#: Largest pickle in a legacy ``.pt`` file, bytes (the shipped ones hold 7 KB; PyTorch's safe
#: unpickler reads about 1 MB a second, so this bounds the time a hostile one costs).
MAX_LEGACY_PICKLE_BYTES = 128 << 10
#: Most entries in a legacy zip archive.
MAX_ZIP_ENTRIES = 1_000


class CheckpointError(ValueError):
    """A file is not a usable checkpoint: truncated, foreign, incomplete, mismatched,
    oversized or corrupt. The message names the file and what is wrong."""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        model: the rebuilt model, in eval mode.
        model_config: its :class:`ModelConfig`.
        train_config: the :class:`TrainConfig` it was trained with.
        history: per-epoch records (``EpochRecord.to_dict()``: epoch, train_loss, seconds, lr
            and every metric by name).
        metrics: final test metrics by name (:data:`explorer.core.metrics.METRICS`), nats
            per image (``test_neg_elbo`` None for a model without a posterior).
        dataset: ``{"name", "sha256"}`` of the training data.
        versions: library versions it was written with.
        verified: its weights matched the SHA-256 stored at save (format 2); False for a
            legacy ``.pt`` file, which stores none (its zip CRCs were checked).
    """

    model: Autoencoder
    model_config: ModelConfig
    train_config: TrainConfig
    history: list[dict]
    metrics: dict
    dataset: dict
    versions: dict
    verified: bool = False


def _versions() -> dict[str, str]:
    import safetensors
    import torchvision

    # str(): torch.__version__ is a str subclass
    return {"torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
            "safetensors": str(safetensors.__version__), "python": platform.python_version()}


def weights_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 (hex) of a state dict: every tensor's name, dtype, shape and bytes, by name.

    Args:
        state_dict: name -> tensor (any device; read as contiguous CPU memory).
    """
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def checkpoint_bytes(
    model: Autoencoder,
    *,
    train_config: TrainConfig,
    history: list[dict],
    metrics: dict,
    dataset: dict,
) -> bytes:
    """The serialised checkpoint of ``model`` (what :func:`save_checkpoint` writes):
    a safetensors file, format :data:`FORMAT_VERSION` (see the module docstring).

    Args:
        model: any model of the family.
        train_config: settings it was trained with.
        history: per-epoch records as plain dicts.
        metrics: final test metrics, nats per image.
        dataset: ``{"name", "sha256"}`` of the training data.
    """
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    contents = {
        "model_config": model.config.to_dict(),
        "train_config": train_config.to_dict(),
        "history": list(history),
        "metrics": dict(metrics),
        "dataset": dict(dataset),
        "versions": _versions(),
    }
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "contents": json.dumps(contents),
        "weights_sha256": weights_sha256(tensors),
    }
    return save(tensors, metadata=metadata)


def save_checkpoint(path: Path | str, model: Autoencoder, *, exclusive: bool = False, **contents) -> Path:
    """Write a checkpoint atomically: a temporary file in the same folder, then rename.

    A crash or error mid-save leaves any existing file at ``path`` untouched; a process
    killed mid-save leaves its temporary file, which the next save or listing of the
    folder removes (:func:`reap_stale_temporaries`).

    Args:
        path: destination file (format 2, safetensors, whatever its suffix; the app and
            the CLI use ``.safetensors``).
        model: any model of the family.
        exclusive: never replace an existing file: the finished temporary file is
            hard-linked to ``path``, which fails atomically if ``path`` exists (so two
            sessions saving the same name cannot overwrite each other either).
        **contents: ``train_config``, ``history``, ``metrics``, ``dataset``, as for
            :func:`checkpoint_bytes`.

    Returns:
        The path written.

    Raises:
        FileExistsError: ``exclusive`` and ``path`` exists (nothing is written).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    reap_stale_temporaries(path.parent)
    if exclusive and path.exists():
        raise FileExistsError(f"{path} already exists")
    data = checkpoint_bytes(model, **contents)
    fd, tmp = temporary_file(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; checkpoints are meant to be shared
        if exclusive:
            os.link(tmp, path)  # atomic; FileExistsError if another writer got there first
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --- loading ---------------------------------------------------------------------------


def _read_source(source: Path | str | BinaryIO | bytes, name: str) -> bytes:
    """The bytes of ``source``, at most :data:`MAX_FILE_BYTES`; only regular files are opened."""
    too_big = (f"{name}: larger than the {MAX_FILE_BYTES // (1 << 20)} MiB a checkpoint may have "
               f"(at most {MAX_PARAMETERS:,} parameters)")
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) > MAX_FILE_BYTES:
            raise CheckpointError(too_big)
        return bytes(source)
    if isinstance(source, (str, Path)):
        try:
            info = os.stat(source)
        except FileNotFoundError as exc:
            raise CheckpointError(f"{name}: no such checkpoint file") from exc
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{name}: not a regular file (a folder, pipe or device), so not a checkpoint")
        if info.st_size > MAX_FILE_BYTES:
            raise CheckpointError(too_big)
        # O_NONBLOCK: should the file be swapped for a FIFO after the stat, open does not hang
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise CheckpointError(f"{name}: not a regular file, so not a checkpoint")
            data = f.read(MAX_FILE_BYTES + 1)
    else:
        data = source.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise CheckpointError(too_big)
    return data


def _check_plain(value, name: str, what: str) -> None:
    """Refuse anything but JSON-like values (dict with str keys, list, str, int, float,
    bool, None) within :data:`MAX_METADATA_VALUES` and :data:`MAX_METADATA_DEPTH`."""
    budget = MAX_METADATA_VALUES
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        budget -= 1
        if budget < 0 or depth > MAX_METADATA_DEPTH:
            raise CheckpointError(f"{name}: {what} is too large or too deeply nested")
        if isinstance(item, (dict, list, tuple)) and len(item) > budget:
            raise CheckpointError(f"{name}: {what} is too large or too deeply nested")
        if isinstance(item, dict):
            for k, v in item.items():
                if not isinstance(k, str):
                    raise CheckpointError(f"{name}: {what} has a key of type {type(k).__name__}")
                stack.append((v, depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            budget -= len(item) // 64
        elif item is not None and not isinstance(item, (int, float, bool)):
            raise CheckpointError(f"{name}: {what} holds a {type(item).__name__}, expected plain values")


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_contents(contents: dict, name: str) -> tuple[ModelConfig, TrainConfig]:
    """Types and values of the plain contents; the configs, with the model size limit."""
    for key in CONTENT_KEYS:
        _check_plain(contents[key], name, key)
    try:
        model_config = ModelConfig.from_dict(contents["model_config"])
        train_config = TrainConfig.from_dict(contents["train_config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{name}: invalid config in checkpoint: {exc}") from exc
    if model_config.image_shape != IMAGE_SHAPE:
        raise CheckpointError(f"{name}: the model takes images of shape {list(model_config.image_shape)}; "
                              f"this app has MNIST images of shape {list(IMAGE_SHAPE)}")
    size = num_parameters(model_config)
    if size > MAX_PARAMETERS:
        raise CheckpointError(f"{name}: its config declares a model of {size:,} parameters, more than the "
                              f"{MAX_PARAMETERS:,} this app loads")
    metrics, history = contents["metrics"], contents["history"]
    if not isinstance(metrics, dict) or not all(v is None or _finite_number(v) for v in metrics.values()):
        raise CheckpointError(f"{name}: metrics must map names to finite numbers (or null)")
    if not isinstance(history, list) or not all(
            isinstance(r, dict) and all(v is None or isinstance(v, (int, float)) for v in r.values())
            for r in history):
        raise CheckpointError(f"{name}: history must be a list of records of numbers")
    for key in ("dataset", "versions"):
        if not isinstance(contents[key], dict):
            raise CheckpointError(f"{name}: {key} must be a dict, got {type(contents[key]).__name__}")
    return model_config, train_config


def _expected_shapes(model_config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor of the model's state dict, from a model on the meta
    device (no memory for weights)."""
    with torch.device("meta"):
        model = build_model(model_config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# ---- format 2: safetensors


def _parse_safetensors(data: bytes, name: str) -> tuple[dict, dict, str]:
    """(contents, tensors, weights_sha256) of a safetensors checkpoint; header first."""
    from safetensors.torch import load

    if len(data) < 8:
        raise CheckpointError(f"{name}: not a readable checkpoint: truncated (shorter than a safetensors header)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > MAX_METADATA_BYTES:
        raise CheckpointError(f"{name}: header of {header_size:,} bytes, more than the "
                              f"{MAX_METADATA_BYTES:,} allowed")
    if 8 + header_size > len(data):
        raise CheckpointError(f"{name}: not a readable checkpoint: truncated (the header runs past the end of the file)")
    try:
        header = json.loads(data[8:8 + header_size])
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{name}: not a readable checkpoint: corrupt header (not valid JSON): {str(exc)[:200]}") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{name}: not a readable checkpoint: corrupt header (not a JSON object)")
    metadata = header.pop("__metadata__", None)
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise CheckpointError(f"{name}: not a latent-space-explorer checkpoint (no '{FORMAT}' format tag); "
                              "a bare state_dict or another project's file cannot be used")
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise CheckpointError(f"{name}: checkpoint format version {metadata.get('format_version')!r} "
                              f"is not supported (expected {FORMAT_VERSION})")
    digest, text = metadata.get("weights_sha256"), metadata.get("contents")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise CheckpointError(f"{name}: the weights checksum is missing or malformed")
    if not isinstance(text, str):
        raise CheckpointError(f"{name}: the checkpoint contents are missing")
    try:
        contents = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{name}: corrupt contents (not valid JSON): {exc}") from exc
    if not isinstance(contents, dict):
        raise CheckpointError(f"{name}: corrupt contents (not a JSON object)")
    missing = [k for k in CONTENT_KEYS if k not in contents]
    if missing:
        raise CheckpointError(f"{name}: checkpoint is missing key(s) {missing}")
    model_config, _ = _check_contents(contents, name)
    expected = _expected_shapes(model_config)
    end = 0
    for key, spec in header.items():
        if key not in expected:
            raise CheckpointError(f"{name}: unexpected tensor {key!r} for the model its config describes")
        if not isinstance(spec, dict) or spec.get("dtype") != "F32":
            raise CheckpointError(f"{name}: tensor {key!r} must be float32")
        shape, offsets = spec.get("shape"), spec.get("data_offsets")
        if not (isinstance(shape, list) and tuple(shape) == expected[key]):
            raise CheckpointError(f"{name}: tensor {key!r} has shape {shape}, the config needs "
                                  f"{list(expected[key])}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
                and offsets[1] - offsets[0] == 4 * math.prod(shape) and offsets[0] >= 0):
            raise CheckpointError(f"{name}: tensor {key!r} has corrupt offsets")
        end = max(end, offsets[1])
    missing = sorted(set(expected) - set(header))
    if missing:
        raise CheckpointError(f"{name}: weights missing for {missing[:5]}")
    if 8 + header_size + end != len(data):
        raise CheckpointError(f"{name}: not a readable checkpoint: truncated or padded ({len(data):,} bytes, the header describes "
                              f"{8 + header_size + end:,})")
    try:
        tensors = load(data)
    except Exception as exc:  # safetensors' own checks (overlaps, gaps)
        raise CheckpointError(f"{name}: not a readable checkpoint: corrupt tensor data: {str(exc)[:200]}") from exc
    return contents, tensors, digest


# ---- format 1: legacy torch zip


def _check_zip(data: bytes, name: str) -> None:
    """Refuse zip tricks before torch reads the archive: entries must be few, stored
    (not compressed), consistent with their local headers, and pass their CRC-32."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise CheckpointError(f"{name}: zip archive with {len(infos)} entries, not a checkpoint")
        if len({i.filename for i in infos}) != len(infos):
            raise CheckpointError(f"{name}: zip archive with duplicate entries")
        if sum(i.file_size for i in infos) > len(data):
            raise CheckpointError(f"{name}: zip entries declare more data than the file holds")
        if any(i.filename.endswith(".pkl") and i.file_size > MAX_LEGACY_PICKLE_BYTES for i in infos):
            raise CheckpointError(f"{name}: its pickled metadata is larger than the {MAX_LEGACY_PICKLE_BYTES:,} "
                                  "bytes a checkpoint of this app has")
        for info in infos:
            local = data[info.header_offset:info.header_offset + 30]
            if (info.compress_type != zipfile.ZIP_STORED or len(local) < 30
                    or struct.unpack("<H", local[8:10])[0] != zipfile.ZIP_STORED):
                raise CheckpointError(f"{name}: zip entry {info.filename!r} is compressed; "
                                      "torch checkpoints store their entries uncompressed")
            with archive.open(info) as entry:  # reading to the end checks the CRC-32
                while entry.read(1 << 20):
                    pass
    except CheckpointError:
        raise
    except Exception as exc:  # zipfile raises BadZipFile, ValueError, EOFError, OSError, ...
        raise CheckpointError(f"{name}: not a readable checkpoint: corrupt zip archive (truncated or damaged: {type(exc).__name__}: "
                              f"{str(exc)[:200]})") from exc


def _parse_legacy(data: bytes, name: str) -> tuple[dict, dict]:
    """(contents, tensors) of a format-1 ``torch.save`` checkpoint."""
    _check_zip(data, name)
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated or foreign bytes
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise CheckpointError(
            f"{name}: not a readable checkpoint (truncated, corrupt, or not a safe torch "
            f"file): {type(exc).__name__}: {first[:300]}"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{name}: not a latent-space-explorer checkpoint (no '{FORMAT}' format tag); "
            "a bare state_dict or another project's file cannot be used"
        )
    version = payload.get("format_version")
    if type(version) is not int or version != LEGACY_FORMAT_VERSION:
        raise CheckpointError(f"{name}: checkpoint format version {version!r} is not supported "
                              f"(expected {LEGACY_FORMAT_VERSION} in a .pt file)")
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        raise CheckpointError(f"{name}: checkpoint is missing key(s) {missing}")
    contents = {k: payload[k] for k in CONTENT_KEYS}
    model_config, _ = _check_contents(contents, name)
    state = payload["state_dict"]
    expected = _expected_shapes(model_config)
    if not isinstance(state, dict) or set(state) != set(expected):
        raise CheckpointError(f"{name}: weights do not match the model its config describes "
                              "(missing or unexpected tensors)")
    for key, t in state.items():
        if not isinstance(t, torch.Tensor) or t.dtype != torch.float32 or tuple(t.shape) != expected[key]:
            raise CheckpointError(f"{name}: tensor {key!r} must be float32 of shape {list(expected[key])}")
    return contents, state


def _probe(model: Autoencoder, name: str) -> None:
    """Refuse a model whose encoder or decoder gives non-finite values on probe images
    (black, white, grey and seeded noise): broken weights the checks above let through."""
    g = torch.Generator().manual_seed(0)
    shape = model.config.image_shape
    x = torch.cat([torch.zeros(1, *shape), torch.ones(1, *shape), torch.full((1, *shape), 0.5),
                   torch.rand(5, *shape, generator=g)])
    y = torch.arange(len(x)) % model.config.num_classes
    with torch.no_grad():
        mu, logvar = model.encode(x, y)
        outputs = [mu, model.decode_mean(mu, y), model.decode_mean(torch.randn(mu.shape, generator=g), y)]
        if logvar is not None:
            outputs.append(logvar.exp())
    if not all(torch.isfinite(o).all() for o in outputs):
        raise CheckpointError(f"{name}: the model gives non-finite values (corrupt weights)")


def load_checkpoint(source: Path | str | BinaryIO | bytes) -> Checkpoint:
    """Load and validate a checkpoint, rebuilding its model in eval mode.

    Nothing in the file is executed, and it is checked before anything is built from it
    (see the module docstring for the limits); a format-2 file's weights must match its
    stored SHA-256.

    Args:
        source: a path, an open binary file, or the file's bytes (e.g. an upload).

    Returns:
        :class:`Checkpoint` (``verified`` True when the weights checksum matched).

    Raises:
        CheckpointError: for every problem (and no other exception): missing, not a
            regular file, too large, truncated, foreign, corrupt (checksum or CRC),
            lacking a key, wrong types or values, a model over :data:`MAX_PARAMETERS`,
            weights that do not fit the config, or non-finite weights.
    """
    name = str(source) if isinstance(source, (str, Path)) else "uploaded file"
    try:
        return _load(source, name)
    except CheckpointError:
        raise
    except MemoryError as exc:
        raise CheckpointError(f"{name}: too large to load") from exc
    except Exception as exc:  # a safety net: no other exception type may escape
        raise CheckpointError(f"{name}: not a usable checkpoint ({type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:300]})") from exc


def _load(source, name: str) -> Checkpoint:
    try:
        data = _read_source(source, name)
    except OSError as exc:
        raise CheckpointError(f"{name}: cannot be read: {exc.strerror or exc}") from exc
    if data[:4] == b"PK\x03\x04":
        contents, tensors = _parse_legacy(data, name)
        verified = False
    elif len(data) >= 9 and data[8:9] == b"{":
        contents, tensors, digest = _parse_safetensors(data, name)
        if weights_sha256(tensors) != digest:
            raise CheckpointError(f"{name}: the weights do not match their stored SHA-256 checksum "
                                  "(the file was damaged or edited after it was saved)")
        verified = True
    else:
        raise CheckpointError(f"{name}: not a readable checkpoint (neither a safetensors file nor a .pt file "
                              "saved by this app: truncated, corrupt or another kind of file)")
    del data
    for key, t in tensors.items():
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{name}: tensor {key!r} holds NaN or infinite values")
        if t.numel() and t.abs().max() > MAX_ABS_WEIGHT:
            raise CheckpointError(f"{name}: tensor {key!r} holds a weight of size {t.abs().max():.3g}, beyond "
                                  f"the {MAX_ABS_WEIGHT:g} a trained model has (corrupt weights)")
    model_config = ModelConfig.from_dict(contents["model_config"])
    train_config = TrainConfig.from_dict(contents["train_config"])
    model = build_model(model_config)
    model.load_state_dict(tensors)
    model.eval()
    _probe(model, name)
    return Checkpoint(model, model_config, train_config, contents["history"], contents["metrics"],
                      contents["dataset"], contents["versions"], verified)


#: File names a user may save under: letters, digits, ``._-``, ending in ``.safetensors``, no folders.
SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.safetensors")


def save_new_checkpoint(folder: Path | str, file_name: str, checkpoint: Checkpoint) -> Path:
    """Save a loaded checkpoint as a NEW file in ``folder`` (never replacing one).

    Args:
        folder: destination folder (e.g. the app's ``checkpoints/``).
        file_name: e.g. ``vae_z2_h512-256_b1_e7_s0_20261121T102400Z.safetensors``;
            ``.safetensors`` is appended if missing (and replaces ``.pt``: saves are format 2).
        checkpoint: what to save (its model, configs, history, metrics, dataset).

    Returns:
        The path written (atomically, see :func:`save_checkpoint`).

    Raises:
        ValueError: the name has characters other than letters, digits, ``._-``
            (no folders), or is too long.
        FileExistsError: a file of that name exists; it is left untouched.
    """
    name = file_name.strip()
    name = name.removesuffix(LEGACY_SUFFIX) if name.endswith(LEGACY_SUFFIX) else name
    if not name.endswith(SUFFIX):
        name += SUFFIX
    if not SAFE_FILE_NAME.fullmatch(name):
        raise ValueError(
            f"{file_name!r} is not a usable file name: use letters, digits, '.', '_' and '-' "
            "only (no folders), starting with a letter or digit"
        )
    return save_checkpoint(Path(folder) / name, checkpoint.model, exclusive=True,
                           train_config=checkpoint.train_config, history=checkpoint.history,
                           metrics=checkpoint.metrics, dataset=checkpoint.dataset)
