"""Reading a checkpoint file from anyone: structure, types and sizes checked before
anything is built from it.

Only regular files are opened (no FIFO hang), files are at most :data:`MAX_FILE_BYTES`,
metadata at most :data:`MAX_METADATA_BYTES`, the model its config declares at most
:data:`MAX_PARAMETERS` (computed from the config on the meta device, nothing allocated),
every tensor's name, dtype and shape as the config needs, a format-2 file's SHA-256
checksums matched (:mod:`explorer.core.checkpoint_format`), weights finite and at most
:data:`MAX_ABS_WEIGHT` in size. A format-1 ``.pt`` file (``torch.save`` zip) goes through
a hardened path: every zip entry must be stored uncompressed, its CRC-32 is checked
(PyTorch does not), and ``torch.load(weights_only=True)`` runs no pickled code.
Every refusal is a :class:`CheckpointError`.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
import struct
import zipfile
from typing import BinaryIO
from pathlib import Path

import torch

from explorer.core.checkpoint_format import (
    BROKEN,
    CONTENT_KEYS,
    FOREIGN,
    FORMAT,
    FORMAT_VERSION,
    LEGACY_FORMAT_VERSION,
    REQUIRED_KEYS,
    TOO_LARGE,
    CheckpointError,
    _clip,
    content_sha256,
    weights_sha256,
)
from explorer.core.config import IMAGE_SHAPE, NUM_CLASSES, ModelConfig, TrainConfig
from explorer.core.limits import MAX_ABS_WEIGHT, MAX_PARAMETERS, short_number
from explorer.core.models import build_model, model_class, num_parameters

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


def read_source(source: Path | str | BinaryIO | bytes) -> bytes:
    """The bytes of ``source`` (a path, an open binary file or bytes), at most :data:`MAX_FILE_BYTES`; only regular files are opened."""
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


def _check_format_tag(record, expected: int, stored_as: type, where: str) -> None:
    """Refuse ``record`` (a format-2 file's metadata, a format-1 file's payload) unless it
    carries this app's format tag and the version ``expected`` (see :func:`_version_problem`)."""
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise CheckpointError("not a latent-space-explorer checkpoint (a bare state_dict or another project's file)",
                              FOREIGN)
    problem = _version_problem(record.get("format_version"), expected, stored_as, where)
    if problem:
        raise CheckpointError(problem, FOREIGN)


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
    _check_format_tag(metadata, FORMAT_VERSION, str, "a .safetensors file")
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
    _check_format_tag(payload, LEGACY_FORMAT_VERSION, int, "a .pt file")
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


def parse_checkpoint(data: bytes) -> tuple[dict, dict[str, torch.Tensor], bool]:
    """The checked contents and weights of a checkpoint file's bytes (format 2 or 1).

    Args:
        data: the whole file (at most :data:`MAX_FILE_BYTES`, see :func:`read_source`).

    Returns:
        (contents: the plain ``CONTENT_KEYS`` values, tensors: name -> float32 tensor of
        the shape the config needs, checksummed: a format-2 file matched its ``sha256`` of
        weights and contents; False for a legacy file or one that stores only
        ``weights_sha256``).

    Raises:
        CheckpointError: anything wrong (see the module docstring), including non-finite
            weights or weights over :data:`MAX_ABS_WEIGHT`.
    """
    if data[:4] == b"PK\x03\x04":
        contents, tensors = _parse_legacy(data)
        checksummed = False
    elif len(data) >= 9 and data[8:9] == b"{":
        contents, tensors, metadata = _parse_safetensors(data)
        if weights_sha256(tensors) != metadata["weights_sha256"] or (
                "sha256" in metadata and content_sha256(tensors, metadata["contents"]) != metadata["sha256"]):
            raise CheckpointError("the file does not match its stored SHA-256 checksum (damaged or edited "
                                  "after it was saved)")
        checksummed = "sha256" in metadata
    else:
        raise CheckpointError("not a readable checkpoint (neither a safetensors file nor a .pt file saved by "
                              "this app: truncated, corrupt or another kind of file)")
    for key, t in tensors.items():
        if not torch.isfinite(t).all():
            raise CheckpointError(f"tensor {key!r} holds NaN or infinite values", BROKEN)
        if t.numel() and t.abs().max() > MAX_ABS_WEIGHT:
            raise CheckpointError(f"tensor {key!r} holds a weight of size {short_number(float(t.abs().max()))}, "
                                  f"beyond the {MAX_ABS_WEIGHT:g} a trained model has", BROKEN)
    return contents, tensors, checksummed
