"""Self-describing checkpoint files, safe to load from anyone.

Format 2 (what every save writes) is a `safetensors <https://huggingface.co/docs/safetensors>`_
file: the ``state_dict`` as float32 tensors, and in its string metadata the format tag,
the version, ``contents`` (JSON: ``model_config``, ``train_config``, the per-epoch
``history``, the final test ``metrics`` in nats per image, the ``dataset`` name and
checksums, library ``versions``), ``weights_sha256``, a SHA-256 of the weights, and
``sha256`` (:func:`content_sha256`), a SHA-256 of the weights and the contents text
together: everything the app shows from the file. Both are written at save and checked at
load (files saved before ``sha256`` existed have their weights checked only, and count
as unverified). safetensors holds no code and no compression, and its header is read
and checked before any tensor is.

Where a file came from decides where its metrics come from (:attr:`Checkpoint.metrics_source`):
a file listed in :data:`SHIPPED_MANIFEST` (the project's own checkpoints, by the SHA-256
of the whole file) shows its stored metrics; a model trained by this server shows what it
measured; any other file (an upload, a file placed by hand) has its metrics recomputed on
the MNIST test split, and a stored value is kept only where it agrees with the recomputed
one (:func:`recompute_metrics`).

Format 1 (``.pt`` files saved before, such as the shipped models) is a ``torch.save``
zip archive. It is still read, through a hardened path: every zip entry must be stored
uncompressed, its CRC-32 is checked (PyTorch does not), and ``torch.load(weights_only=True)``
runs no pickled code. Such a checkpoint carries no weights checksum and is marked
``verified=False``.

:func:`load_checkpoint` checks structure, types and sizes before it builds anything:
only regular files are opened (no FIFO hang), files are at most :data:`MAX_FILE_BYTES`,
metadata at most :data:`MAX_METADATA_BYTES`, the model its config declares at most
:data:`MAX_PARAMETERS` (computed from the config, nothing allocated), weights finite and
at most :data:`MAX_ABS_WEIGHT` in size, and the rebuilt model passes the probe of
:func:`explorer.core.limits.absurd_outputs` (real test digits, every label of a
conditional model). Whatever is wrong, the only exception it raises is :class:`CheckpointError`,
whose message is one sentence under :data:`MAX_MESSAGE_CHARS` characters that says what
is wrong and what to do (:attr:`CheckpointError.reason` holds the bare reason).
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
from typing import BinaryIO, Callable

import torch

from explorer.core.config import IMAGE_SHAPE, NUM_CLASSES, ModelConfig, TrainConfig
from explorer.core.data import DataError
from explorer.core.files import atomic_write, reap_stale_temporaries
from explorer.core.limits import MAX_ABS_WEIGHT, MAX_PARAMETERS, absurd_outputs, short_number
from explorer.core.models import Autoencoder, build_model, model_class, num_parameters

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

#: The project's own checkpoints: ``<SHA-256 of the file> <file name>`` per line (like
#: ``sha256sum``); a file whose bytes hash to a listed digest shows its stored metrics.
SHIPPED_MANIFEST = Path(__file__).resolve().parents[2] / "checkpoints" / "SHA256SUMS"
#: Longest refusal message, characters (names and values in it are shortened to fit).
MAX_MESSAGE_CHARS = 300
#: A stored metric agrees with its recomputation within this relative (or absolute, nats)
#: difference; the same weights and seed repeat to about 1e-8 across torch versions.
METRIC_RTOL, METRIC_ATOL = 1e-5, 1e-3
#: Largest metadata (safetensors header, or a legacy file's pickle), bytes; the history of
#: 500 epochs takes about 100 KB.
MAX_METADATA_BYTES = 1 << 20
#: Largest checkpoint file or upload, bytes: float32 weights of the largest model plus metadata.
MAX_FILE_BYTES = 4 * MAX_PARAMETERS + 2 * MAX_METADATA_BYTES
#: Most values (dict entries, list items) in the plain metadata, and its deepest nesting.
MAX_METADATA_VALUES = 100_000
MAX_METADATA_DEPTH = 16
#: Largest pickle in a legacy ``.pt`` file, bytes (the shipped ones hold 7 KB; PyTorch's safe
#: unpickler reads about 1 MB a second, so this bounds the time a hostile one costs).
MAX_LEGACY_PICKLE_BYTES = 128 << 10
#: Most entries in a legacy zip archive.
MAX_ZIP_ENTRIES = 1_000


#: What to do, by kind of refusal (the second half of every message).
DAMAGED = "Use an intact copy of the file, or retrain the model."
FOREIGN = "Use a .safetensors file saved or downloaded from this app."
BROKEN = "Do not use this file: retrain the model or choose another checkpoint."
TOO_LARGE = "Retrain the model with smaller hidden or latent sizes."


class CheckpointError(ValueError):
    """A file is not a usable checkpoint: truncated, foreign, incomplete, mismatched,
    oversized or corrupt.

    :func:`load_checkpoint` raises it with a message of the form ``"<file>: <reason>.
    <what to do>"`` (under :data:`MAX_MESSAGE_CHARS` characters); inside the loader it
    carries the bare ``reason`` and the ``advice``.

    Attributes:
        reason: what is wrong, one clause (also in the message).
        advice: what to do.
    """

    def __init__(self, reason: str, advice: str = DAMAGED) -> None:
        super().__init__(reason)
        self.reason = reason
        self.advice = advice


def _clip(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks a cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def _message(name: str, reason: str, advice: str) -> str:
    """The refusal people read: ``"<name>: <reason>. <advice>"``, under :data:`MAX_MESSAGE_CHARS`."""
    name = _clip(name, 60)
    room = MAX_MESSAGE_CHARS - 1 - len(name) - 2 - 2 - len(advice)
    reason = _clip(reason, room)
    if reason.endswith(".") and not reason.endswith("..."):
        reason = reason[:-1]
    return f"{name}: {reason}{'' if reason.endswith('...') else '.'} {advice}"


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
        verified: everything the app shows from the file (weights, configs, history,
            metrics, dataset record) matched a SHA-256: the file's own ``sha256`` or, for a
            shipped file, :data:`SHIPPED_MANIFEST`. False for a legacy ``.pt`` file (no
            checksum; its zip CRCs were checked) or a format-2 file saved before ``sha256``
            existed (its weights were checked).
        origin: ``"shipped"`` (listed in :data:`SHIPPED_MANIFEST`), ``"trained"`` (made by
            this server's trainer, see ``load_checkpoint(written_here=True)``) or
            ``"file"`` (an upload or a file placed by hand).
        metrics_source: where :attr:`metrics` come from: ``"stored"`` (a shipped file's,
            as the project measured them), ``"measured"`` (by this server at the end of
            training), ``"recomputed"`` (on the test split at load, :func:`recompute_metrics`)
            or ``"unchecked"`` (stored, not recomputed: ``recompute=False``).
        stored_metrics: the metrics as stored in the file.
        disagreeing: names of stored metrics that differ from their recomputed value (for
            ``"recomputed"``; those show the recomputed value).
    """

    model: Autoencoder
    model_config: ModelConfig
    train_config: TrainConfig
    history: list[dict]
    metrics: dict
    dataset: dict
    versions: dict
    verified: bool = False
    origin: str = "file"
    metrics_source: str = "unchecked"
    stored_metrics: dict | None = None
    disagreeing: tuple[str, ...] = ()

    @property
    def provenance(self) -> str:
        """One or two sentences for people: whether the file is intact and where the
        metrics shown come from."""
        from explorer.core.metrics import METRICS

        if self.origin == "shipped":
            return ("Shipped with the app: the whole file matches the checksum listed in checkpoints/SHA256SUMS; "
                    "metrics as measured by the project's trainer.")
        if self.origin == "trained":
            return "Trained on this server: metrics measured here on the 10,000 test digits."
        intact = ("The file matches the SHA-256 stored in it (intact since it was saved; that does not say who "
                  "saved it)." if self.verified else
                  "Unverified: the file stores no checksum of its configs and history (saved by an earlier "
                  "version), so damage to them cannot be detected.")
        if self.metrics_source == "recomputed":
            if self.disagreeing:
                names = ", ".join(METRICS[n].short_label if n in METRICS else n for n in self.disagreeing)
                verb = "is" if len(self.disagreeing) == 1 else "are"
                return (f"{intact} Metrics recomputed here on the MNIST test digits; the file's stored {names} "
                        f"did not match and {verb} not shown.")
            return f"{intact} Metrics recomputed here on the MNIST test digits; the stored ones agree."
        return f"{intact} Metrics as stored in the file, not recomputed."


def content_sha256(tensors: dict[str, torch.Tensor], contents_text: str) -> str:
    """SHA-256 (hex) of everything a format-2 file holds for the app: the weights
    (:func:`weights_sha256`) and the contents JSON text exactly as stored.

    Args:
        tensors: name -> tensor, the state dict.
        contents_text: the ``contents`` metadata string (configs, history, metrics, dataset, versions).
    """
    digest = hashlib.sha256()
    digest.update(f"{FORMAT}\0weights\0{weights_sha256(tensors)}\0contents\0".encode())
    digest.update(contents_text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    import safetensors
    import torchvision

    # str(): torch.__version__ is a str subclass
    return {"torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
            "safetensors": str(safetensors.__version__), "python": platform.python_version()}


def weights_sha256(state_dict: dict[str, torch.Tensor] | torch.nn.Module) -> str:
    """SHA-256 (hex) of a state dict: every tensor's name, dtype, shape and bytes, by name.
    The one weights hash: stored in checkpoints, and the encoding cache's key. Two models
    share it only if every weight is bit-identical.

    Args:
        state_dict: name -> tensor (any device; read as contiguous CPU memory), or a
            model (its ``state_dict()``).
    """
    if isinstance(state_dict, torch.nn.Module):
        state_dict = state_dict.state_dict()
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
    text = json.dumps(contents)
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "contents": text,
        "weights_sha256": weights_sha256(tensors),
        "sha256": content_sha256(tensors, text),
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
    # 0o644: mkstemp creates 0600; checkpoints are meant to be shared
    return atomic_write(path, checkpoint_bytes(model, **contents), exclusive=exclusive, durable=True, mode=0o644)


# --- loading ---------------------------------------------------------------------------


def _read_source(source: Path | str | BinaryIO | bytes) -> bytes:
    """The bytes of ``source``, at most :data:`MAX_FILE_BYTES`; only regular files are opened."""
    too_big = CheckpointError(f"larger than the {MAX_FILE_BYTES // (1 << 20)} MiB a checkpoint may have "
                              f"(at most {MAX_PARAMETERS:,} parameters)", TOO_LARGE)
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) > MAX_FILE_BYTES:
            raise too_big
        return bytes(source)
    if isinstance(source, (str, Path)):
        try:
            info = os.stat(source)
        except FileNotFoundError as exc:
            raise CheckpointError("no such checkpoint file", "Choose another model in the sidebar.") from exc
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError("not a regular file (a folder, pipe or device), so not a checkpoint", FOREIGN)
        if info.st_size > MAX_FILE_BYTES:
            raise too_big
        # O_NONBLOCK: should the file be swapped for a FIFO after the stat, open does not hang
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise CheckpointError("not a regular file, so not a checkpoint", FOREIGN)
            data = f.read(MAX_FILE_BYTES + 1)
    else:
        data = source.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise too_big
    return data


def _check_plain(value, what: str) -> None:
    """Refuse anything but JSON-like values (dict with str keys, list, str, int, float,
    bool, None) within :data:`MAX_METADATA_VALUES` and :data:`MAX_METADATA_DEPTH`."""
    budget = MAX_METADATA_VALUES
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        budget -= 1
        if budget < 0 or depth > MAX_METADATA_DEPTH:
            raise CheckpointError(f"its {what} is too large or too deeply nested", FOREIGN)
        if isinstance(item, (dict, list, tuple)) and len(item) > budget:
            raise CheckpointError(f"its {what} is too large or too deeply nested", FOREIGN)
        if isinstance(item, dict):
            for k, v in item.items():
                if not isinstance(k, str):
                    raise CheckpointError(f"its {what} has a key of type {type(k).__name__}", FOREIGN)
                stack.append((v, depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            budget -= len(item) // 64
        elif item is not None and not isinstance(item, (int, float, bool)):
            raise CheckpointError(f"its {what} holds a {type(item).__name__}, expected plain values", FOREIGN)


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_contents(contents: dict) -> tuple[ModelConfig, TrainConfig]:
    """Types and values of the plain contents; the configs, with the model size limit."""
    for key in CONTENT_KEYS:
        _check_plain(contents[key], key)
    try:
        model_config = ModelConfig.from_dict(contents["model_config"])
        train_config = TrainConfig.from_dict(contents["train_config"])
    except (TypeError, ValueError, OverflowError) as exc:
        raise CheckpointError(f"invalid config in checkpoint: {_clip(exc, 120)}", FOREIGN) from exc
    if model_config.image_shape != IMAGE_SHAPE:
        raise CheckpointError(f"the model takes images of shape {_clip(list(model_config.image_shape), 40)}, "
                              f"not MNIST's {list(IMAGE_SHAPE)} (its image_shape)", FOREIGN)
    size = num_parameters(model_config)
    if size > MAX_PARAMETERS:
        raise CheckpointError(f"its config declares a model of {short_number(size)} parameters, more than "
                              f"the {MAX_PARAMETERS:,} this app loads", TOO_LARGE)
    if model_class(model_config.kind).is_conditional and model_config.num_classes > NUM_CLASSES:
        raise CheckpointError(f"its conditional model takes {short_number(model_config.num_classes)} labels, "
                              f"MNIST has {NUM_CLASSES}", FOREIGN)
    metrics, history = contents["metrics"], contents["history"]
    if not isinstance(metrics, dict) or not all(v is None or _finite_number(v) for v in metrics.values()):
        raise CheckpointError("its metrics must map names to finite numbers (or null)", FOREIGN)
    if not isinstance(history, list) or not all(
            isinstance(r, dict) and all(v is None or isinstance(v, (int, float)) for v in r.values())
            for r in history):
        raise CheckpointError("its history must be a list of records of numbers", FOREIGN)
    for key in ("dataset", "versions"):
        if not isinstance(contents[key], dict):
            raise CheckpointError(f"its {key} must be a dict, not a {type(contents[key]).__name__}", FOREIGN)
    return model_config, train_config


def _expected_shapes(model_config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor of the model's state dict, from a model on the meta
    device (no memory for weights)."""
    with torch.device("meta"):
        model = build_model(model_config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


_KIND_OF_VALUE = {str: "text", int: "an integer", float: "a decimal number", bool: "true/false",
                  list: "a list", dict: "an object", type(None): "null"}


def _version_problem(version, expected: int, stored_as: type, where: str) -> str | None:
    """Why a stored format version is refused, without contradicting itself; None if it is right.

    Args:
        version: the stored value (any JSON or pickled value).
        expected: the version this app reads there.
        stored_as: ``str`` (format 2 stores text) or ``int`` (format 1).
        where: ``"a .safetensors file"`` or ``"a .pt file"``.
    """
    if type(version) is stored_as and version == (str(expected) if stored_as is str else expected):
        return None
    if version is None:
        return f"its format version is missing ({where} states it)"
    if type(version) is not stored_as:
        kind = _KIND_OF_VALUE.get(type(version), f"a {type(version).__name__}")
        return (f"its format version is stored as {kind} ({_clip(repr(version), 20)}); in {where} this app "
                f"stores version {expected} as {_KIND_OF_VALUE[stored_as]}")
    return f"its format version {_clip(repr(version), 20)} is not one this app reads (in {where} it reads {expected})"


# ---- format 2: safetensors


def _parse_safetensors(data: bytes) -> tuple[dict, dict, dict]:
    """(contents, tensors, metadata) of a safetensors checkpoint; header first."""
    from safetensors.torch import load

    if len(data) < 8:
        raise CheckpointError("not a readable checkpoint: truncated (shorter than a safetensors header)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > MAX_METADATA_BYTES:
        raise CheckpointError(f"its header of {short_number(header_size)} bytes is more than the "
                              f"{MAX_METADATA_BYTES:,} allowed")
    if 8 + header_size > len(data):
        raise CheckpointError("not a readable checkpoint: truncated (the header runs past the end of the file)")
    try:
        header = json.loads(data[8:8 + header_size])
    except (ValueError, RecursionError) as exc:
        raise CheckpointError("not a readable checkpoint: corrupt header (not valid JSON)") from exc
    if not isinstance(header, dict):
        raise CheckpointError("not a readable checkpoint: corrupt header (not a JSON object)")
    metadata = header.pop("__metadata__", None)
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise CheckpointError("not a latent-space-explorer checkpoint (a bare state_dict or another project's file)",
                              FOREIGN)
    problem = _version_problem(metadata.get("format_version"), FORMAT_VERSION, str, "a .safetensors file")
    if problem:
        raise CheckpointError(problem, FOREIGN)
    digest, text = metadata.get("weights_sha256"), metadata.get("contents")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise CheckpointError("the weights checksum is missing or malformed")
    full = metadata.get("sha256")
    if full is not None and not (isinstance(full, str) and re.fullmatch(r"[0-9a-f]{64}", full)):
        raise CheckpointError("the file's checksum is malformed")
    if not isinstance(text, str):
        raise CheckpointError("the checkpoint contents are missing")
    try:
        contents = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CheckpointError("corrupt contents (not valid JSON)") from exc
    if not isinstance(contents, dict):
        raise CheckpointError("corrupt contents (not a JSON object)")
    missing = [k for k in CONTENT_KEYS if k not in contents]
    if missing:
        raise CheckpointError(f"checkpoint is missing key(s) {missing}", FOREIGN)
    model_config, _ = _check_contents(contents)
    expected = _expected_shapes(model_config)
    end = 0
    for key, spec in header.items():
        if key not in expected:
            raise CheckpointError(f"unexpected tensor {_clip(repr(key), 40)} for the model its config describes",
                                  FOREIGN)
        if not isinstance(spec, dict) or spec.get("dtype") != "F32":
            raise CheckpointError(f"tensor {key!r} must be float32", FOREIGN)
        shape, offsets = spec.get("shape"), spec.get("data_offsets")
        if not (isinstance(shape, list) and all(type(d) is int for d in shape) and tuple(shape) == expected[key]):
            raise CheckpointError(f"tensor {key!r} has shape {_clip(shape, 40)}, the config needs "
                                  f"{list(expected[key])}", FOREIGN)
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
                and offsets[1] - offsets[0] == 4 * math.prod(shape) and offsets[0] >= 0):
            raise CheckpointError(f"tensor {key!r} has corrupt offsets")
        end = max(end, offsets[1])
    missing = sorted(set(expected) - set(header))
    if missing:
        raise CheckpointError(f"weights missing for {_clip(missing[:3], 80)}", FOREIGN)
    if 8 + header_size + end != len(data):
        raise CheckpointError(f"not a readable checkpoint: truncated or padded ({short_number(len(data))} bytes, "
                              f"the header describes {short_number(8 + header_size + end)})")
    try:
        tensors = load(data)
    except Exception as exc:  # safetensors' own checks (overlaps, gaps)
        raise CheckpointError("not a readable checkpoint: corrupt tensor data") from exc
    return contents, tensors, metadata


# ---- format 1: legacy torch zip


def _check_zip(data: bytes) -> None:
    """Refuse zip tricks before torch reads the archive: entries must be few, stored
    (not compressed), consistent with their local headers, and pass their CRC-32."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise CheckpointError(f"a zip archive with {short_number(len(infos))} entries is not a checkpoint",
                                  FOREIGN)
        if len({i.filename for i in infos}) != len(infos):
            raise CheckpointError("zip archive with duplicate entries")
        if sum(i.file_size for i in infos) > len(data):
            raise CheckpointError("its zip entries declare more data than the file holds")
        if any(i.filename.endswith(".pkl") and i.file_size > MAX_LEGACY_PICKLE_BYTES for i in infos):
            raise CheckpointError(f"its pickled metadata is larger than the {MAX_LEGACY_PICKLE_BYTES:,} "
                                  "bytes a checkpoint of this app has", FOREIGN)
        for info in infos:
            local = data[info.header_offset:info.header_offset + 30]
            if (info.compress_type != zipfile.ZIP_STORED or len(local) < 30
                    or struct.unpack("<H", local[8:10])[0] != zipfile.ZIP_STORED):
                raise CheckpointError(f"zip entry {_clip(repr(info.filename), 40)} is compressed; "
                                      "torch checkpoints store their entries uncompressed", FOREIGN)
            with archive.open(info) as entry:  # reading to the end checks the CRC-32
                while entry.read(1 << 20):
                    pass
    except CheckpointError:
        raise
    except Exception as exc:  # zipfile raises BadZipFile, ValueError, EOFError, OSError, ...
        raise CheckpointError(f"not a readable checkpoint: corrupt zip archive (truncated or damaged: "
                              f"{type(exc).__name__})") from exc


def _parse_legacy(data: bytes) -> tuple[dict, dict]:
    """(contents, tensors) of a format-1 ``torch.save`` checkpoint."""
    _check_zip(data)
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated or foreign bytes
        raise CheckpointError(f"not a readable checkpoint (truncated, corrupt, or not a safe torch file: "
                              f"{type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError("not a latent-space-explorer checkpoint (a bare state_dict or another project's file)",
                              FOREIGN)
    problem = _version_problem(payload.get("format_version"), LEGACY_FORMAT_VERSION, int, "a .pt file")
    if problem:
        raise CheckpointError(problem, FOREIGN)
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        raise CheckpointError(f"checkpoint is missing key(s) {missing}", FOREIGN)
    contents = {k: payload[k] for k in CONTENT_KEYS}
    model_config, _ = _check_contents(contents)
    state = payload["state_dict"]
    expected = _expected_shapes(model_config)
    if not isinstance(state, dict) or set(state) != set(expected):
        raise CheckpointError("its weights do not match the model its config describes "
                              "(missing or unexpected tensors)", FOREIGN)
    for key, t in state.items():
        if not isinstance(t, torch.Tensor) or t.dtype != torch.float32 or tuple(t.shape) != expected[key]:
            raise CheckpointError(f"tensor {key!r} must be float32 of shape {list(expected[key])}", FOREIGN)
    return contents, state


def shipped_digests(manifest: Path | str = SHIPPED_MANIFEST) -> dict[str, str]:
    """SHA-256 (hex) -> file name of the project's shipped checkpoints, from ``manifest``
    (``{}`` when it is missing or unreadable: then no file counts as shipped)."""
    try:
        text = Path(manifest).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return {}
    digests = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            digests[parts[0]] = parts[1].lstrip("*")
    return digests


def _agrees(stored, recomputed) -> bool:
    if stored is None or recomputed is None:
        return stored is None and recomputed is None
    return math.isclose(stored, recomputed, rel_tol=METRIC_RTOL, abs_tol=METRIC_ATOL)


def recompute_metrics(model: Autoencoder, stored: dict, seed: int,
                      test_split: Callable[[], tuple[torch.Tensor, torch.Tensor]]) -> tuple[dict, tuple[str, ...]]:
    """Every metric of :data:`explorer.core.metrics.METRICS` on the MNIST test split,
    keeping a stored value only where it agrees with the recomputed one.

    A conditional model of fewer labels than MNIST's 10 is evaluated on the test digits of
    its labels (0 to num_classes - 1).

    Args:
        model: the loaded model.
        stored: the metrics the file stores (name -> nats per image or None).
        seed: seed of the evaluation's noise (the checkpoint's training seed, as the trainer used).
        test_split: returns (images (10000, 1, 28, 28) in [0, 1], labels (10000,)).

    Returns:
        (metrics to show, names of stored metrics that disagreed). Agreement: within
        :data:`METRIC_RTOL` relative or :data:`METRIC_ATOL` nats.

    Raises:
        CheckpointError: a recomputed metric is not finite (the model breaks on some test digit).
    """
    from explorer.core.metrics import evaluate

    images, labels = test_split()
    if model.is_conditional and model.config.num_classes < NUM_CLASSES:  # e.g. a model of 0s and 1s
        keep = labels < model.config.num_classes
        images, labels = images[keep], labels[keep]
    fresh = evaluate(model, images, labels, seed=seed)
    bad = [name for name, value in fresh.items() if value is not None and not math.isfinite(value)]
    if bad:
        raise CheckpointError(f"on the MNIST test set the model gives a non-finite {', '.join(bad)}", BROKEN)
    shown, disagreeing = {}, []
    for name, value in fresh.items():
        if name in stored and _agrees(stored[name], value):
            shown[name] = stored[name]
        else:
            shown[name] = value
            if name in stored:
                disagreeing.append(name)
    return shown, tuple(disagreeing)


def _default_test_split() -> tuple[torch.Tensor, torch.Tensor]:
    from explorer.core.data import load_split

    global _TEST_SPLIT
    if _TEST_SPLIT is None:
        _TEST_SPLIT = load_split(train=False)
    return _TEST_SPLIT


_TEST_SPLIT: tuple[torch.Tensor, torch.Tensor] | None = None


def load_checkpoint(source: Path | str | BinaryIO | bytes, *, name: str | None = None, written_here: bool = False,
                    recompute: bool = True,
                    test_split: Callable[[], tuple[torch.Tensor, torch.Tensor]] | None = None) -> Checkpoint:
    """Load and validate a checkpoint, rebuilding its model in eval mode.

    Nothing in the file is executed, and it is checked before anything is built from it
    (see the module docstring for the limits); a format-2 file must match its stored
    SHA-256 checksums, and the model must pass the probe
    (:func:`explorer.core.limits.absurd_outputs`). This is the one gate of every model the
    app shows: files in ``checkpoints/``, uploads, and models at the end of training.

    Args:
        source: a path, an open binary file, or the file's bytes (e.g. an upload).
        name: what messages call the file (default: the path's file name, or "uploaded file").
        written_here: the bytes were just serialised by this server from a model it trained
            and evaluated (its metrics are shown as measured, not recomputed).
        recompute: recompute the metrics of a file that is neither shipped nor written
            here (:func:`recompute_metrics`; a second or so for an MLP, a minute for the conv
            VAE on two CPU cores); False keeps them as stored (``metrics_source="unchecked"``).
        test_split: returns the MNIST test images and labels for the recomputation
            (default: :func:`explorer.core.data.load_split`, read once per process).

    Returns:
        :class:`Checkpoint`.

    Raises:
        CheckpointError: for every problem (and no other exception): missing, not a
            regular file, too large, truncated, foreign, corrupt (checksum or CRC),
            lacking a key, wrong types or values, a model over :data:`MAX_PARAMETERS`,
            weights that do not fit the config, non-finite weights, a model that fails the
            probe or gives non-finite test metrics. Its message is ``"<name>: <reason>. <what
            to do>"``, under :data:`MAX_MESSAGE_CHARS` characters; ``.reason`` holds the reason.
    """
    if name is None:
        name = Path(source).name if isinstance(source, (str, Path)) else "uploaded file"
    try:
        return _load(source, written_here=written_here, recompute=recompute,
                     test_split=test_split or _default_test_split)
    except CheckpointError as exc:
        error = CheckpointError(exc.reason, exc.advice)
    except DataError:  # the probe digits or the test split for the recomputation
        error = CheckpointError("the app cannot check models: its MNIST files in data/MNIST/ are missing or damaged",
                                "Restore them with `git checkout -- data/MNIST`.")
    except MemoryError:
        error = CheckpointError("too large to load", TOO_LARGE)
    except Exception as exc:  # a safety net: no other exception type may escape
        error = CheckpointError(f"not a usable checkpoint ({type(exc).__name__}: {_clip(exc, 100)})", DAMAGED)
    error.args = (_message(name, error.reason, error.advice),)
    raise error from None


def _load(source, *, written_here: bool, recompute: bool, test_split) -> Checkpoint:
    try:
        data = _read_source(source)
    except OSError as exc:
        raise CheckpointError(f"cannot be read: {_clip(exc.strerror or exc, 80)}",
                              "Check the file's permissions, or choose another checkpoint.") from exc
    shipped = hashlib.sha256(data).hexdigest() in shipped_digests()
    if data[:4] == b"PK\x03\x04":
        contents, tensors = _parse_legacy(data)
        verified = shipped
    elif len(data) >= 9 and data[8:9] == b"{":
        contents, tensors, metadata = _parse_safetensors(data)
        if weights_sha256(tensors) != metadata["weights_sha256"] or (
                "sha256" in metadata and content_sha256(tensors, metadata["contents"]) != metadata["sha256"]):
            raise CheckpointError("the file does not match its stored SHA-256 checksum (damaged or edited "
                                  "after it was saved)")
        verified = shipped or "sha256" in metadata
    else:
        raise CheckpointError("not a readable checkpoint (neither a safetensors file nor a .pt file saved by "
                              "this app: truncated, corrupt or another kind of file)")
    del data
    for key, t in tensors.items():
        if not torch.isfinite(t).all():
            raise CheckpointError(f"tensor {key!r} holds NaN or infinite values", BROKEN)
        if t.numel() and t.abs().max() > MAX_ABS_WEIGHT:
            raise CheckpointError(f"tensor {key!r} holds a weight of size {short_number(float(t.abs().max()))}, "
                                  f"beyond the {MAX_ABS_WEIGHT:g} a trained model has", BROKEN)
    model_config = ModelConfig.from_dict(contents["model_config"])
    train_config = TrainConfig.from_dict(contents["train_config"])
    model = build_model(model_config)
    model.load_state_dict(tensors)
    model.eval()
    if model_config.m1 is not None:  # M1+M2: the M1 file it names, checked by its SHA-256
        m1 = load_m1(model_config.m1, model_config.m1_sha256)
        try:
            model.attach_m1(m1)
        except ValueError as exc:
            raise CheckpointError(str(exc), BROKEN) from None
    problem = absurd_outputs(model)
    if problem is not None:
        raise CheckpointError(problem, BROKEN)
    stored = dict(contents["metrics"])
    metrics, disagreeing = stored, ()
    if shipped:
        origin, source_of_metrics = "shipped", "stored"
    elif written_here:
        origin, source_of_metrics = "trained", "measured"
    elif recompute:
        origin, source_of_metrics = "file", "recomputed"
        metrics, disagreeing = recompute_metrics(model, stored, train_config.seed, test_split)
    else:
        origin, source_of_metrics = "file", "unchecked"
    return Checkpoint(model, model_config, train_config, contents["history"], metrics,
                      contents["dataset"], contents["versions"], verified, origin, source_of_metrics,
                      stored, disagreeing)


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


# --- M1+M2: the M1 VAE a model names -----------------------------------------------------

_M1_CACHE: dict[str, Autoencoder] = {}


def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file's bytes, 64 hex digits."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def resolve_m1(name: str) -> Path | None:
    """The file an M1 reference (``ModelConfig.m1``) names: the path itself (relative to the
    working folder), relative to the project, or its file name in the project's
    ``checkpoints/``; None when none is a regular file (never a FIFO or a device)."""
    root = SHIPPED_MANIFEST.parent.parent
    for candidate in (Path(name), root / name, SHIPPED_MANIFEST.parent / Path(name).name):
        if candidate.is_file():
            return candidate
    return None


def load_m1(name: str, sha256: str) -> Autoencoder:
    """The M1 VAE an M1+M2 model stands on (Kingma et al. 2014, Sec. 3.2), loaded through
    :func:`load_checkpoint`; the file's bytes are hashed at every call, the loaded model is
    cached per process by that hash.

    Args:
        name: ``ModelConfig.m1`` (see :func:`resolve_m1`).
        sha256: ``ModelConfig.m1_sha256``, the SHA-256 its bytes must have.

    Raises:
        CheckpointError: the file is missing, too large, not the bytes the model was trained
            on, does not load, or holds no unconditional VAE.
    """
    path = resolve_m1(name)
    if path is None:
        raise CheckpointError(f"its M1 VAE {Path(name).name} is missing",
                              "Put that file back in checkpoints/ (M1+M2 reads its codes).")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CheckpointError(f"its M1 VAE {path.name} is larger than a checkpoint may be", TOO_LARGE)
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise CheckpointError(f"its M1 VAE {path.name} is not the file it was trained on (SHA-256 differs)",
                              "Restore the original M1 file, or retrain the M1+M2 model on this one.")
    if sha256 not in _M1_CACHE:
        with torch.device("cpu"):  # real weights even while shapes are built on the meta device
            m1 = load_checkpoint(data, name=path.name, recompute=False).model
        if not m1.is_variational or m1.is_conditional or m1.is_semi_supervised:
            raise CheckpointError(f"its M1 {path.name} holds a {m1.title}, not an unconditional VAE")
        _M1_CACHE[sha256] = m1
    return _M1_CACHE[sha256]
