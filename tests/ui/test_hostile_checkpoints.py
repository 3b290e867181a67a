"""Hostile checkpoint files: each one is refused with a CheckpointError, or loads a model
that renders; never another exception, a large allocation, a long wait or code run.

About 200 seeded cases built from a SMALL model (784-16-2 VAE, about 100 KB): truncations,
bit flips in header and weights, edited configs (wrong types, values, huge sizes), edited
tensors (shape, dtype, NaN, inf), oversized or missing metadata, legacy ``.pt`` pickle
payloads that would write a marker file, and zip tricks. Also: a FIFO in the checkpoint
folder, temporary files of a save killed with SIGKILL, the evaluate CLI's output.
"""

from __future__ import annotations

import builtins
import io
import json
import math
import os
import random
import resource
import signal
import struct
import threading
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from explorer.core import checkpoint_format
from explorer.core.checkpoint_format import checkpoint_bytes
from explorer.core.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.files import temporary_file
from explorer.core.latent import encode_dataset
from explorer.core.metrics import evaluate
from explorer.core.models import build_model

from tests.helpers.checkpoint_files import contents_for, legacy_bytes, legacy_payload, safetensors_bytes, safetensors_parts

SMALL = ModelConfig(kind="vae", latent_dim=2, hidden_sizes=(16,))
#: Per case: at most this long, and at most this much new peak memory (resident set).
# a guard against the costly cases (30 s before), not a speed target: CPU seconds of this
# process (every thread), so a loaded machine (other processes' work) does not fail it
MAX_SECONDS = 10.0
MAX_PEAK_GROWTH_BYTES = 100 << 20


@dataclass
class Context:
    """What a case builds its file from."""

    model: torch.nn.Module
    safetensors: bytes  # a good format-2 file
    legacy: bytes  # a good format-1 file
    marker: Path  # must never exist: pickled code would create it


@pytest.fixture(scope="module")
def ctx(tmp_path_factory) -> Context:
    model = build_model(SMALL, seed=0).eval()
    data = checkpoint_bytes(model, train_config=TrainConfig(epochs=2, seed=3), history=[{"epoch": 1, "train_loss": 200.0}],
                            metrics={"test_neg_elbo": 150.0, "test_reconstruction": 145.0, "test_kl": 5.0},
                            dataset={"name": "MNIST", "sha256": {"a.gz": "00"}})
    return Context(model, data, legacy_bytes(legacy_payload(model)), tmp_path_factory.mktemp("marker") / "pwned")


@pytest.fixture(scope="module")
def test_batch():
    from explorer.core.data import load_split

    images, labels = load_split(train=False)
    return images[:100].clone(), labels[:100].clone()


# --- case builders: each takes the Context and returns the file's bytes ------------------

CASES: dict[str, object] = {}


def case(name: str):
    def register(build):
        assert name not in CASES, name
        CASES[name] = build
        return build
    return register


def _header_size(data: bytes) -> int:
    return struct.unpack("<Q", data[:8])[0]


def _flip(data: bytes, position: int, bit: int) -> bytes:
    out = bytearray(data)
    out[position] ^= 1 << bit
    return bytes(out)


rng = random.Random(20261122)

# truncations at many offsets (both formats)
for fraction in [0.0, 1e-5, 5e-5, 1e-4, 0.001, 0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999]:
    CASES[f"truncate-st-{fraction}"] = lambda c, f=fraction: c.safetensors[:int(len(c.safetensors) * f)]
for cut in [7, 8, 9, 100, -1, -4, -100]:
    CASES[f"truncate-st-at-{cut}"] = lambda c, k=cut: c.safetensors[:k]
CASES["truncate-st-header-end"] = lambda c: c.safetensors[:8 + _header_size(c.safetensors)]
CASES["truncate-st-inside-header"] = lambda c: c.safetensors[:8 + _header_size(c.safetensors) // 2]
for fraction in [0.0, 0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 0.95, 0.99, 0.999]:
    CASES[f"truncate-pt-{fraction}"] = lambda c, f=fraction: c.legacy[:int(len(c.legacy) * f)]
CASES["truncate-pt-at--22"] = lambda c: c.legacy[:-22]  # the end-of-central-directory record

# bit flips: header and weights of format 2, anywhere in a legacy file
for i in range(20):
    CASES[f"flip-st-header-{i}"] = lambda c, u=rng.random(), b=rng.randrange(8): _flip(
        c.safetensors, 8 + int(u * _header_size(c.safetensors)), b)
for i in range(25):
    CASES[f"flip-st-weights-{i}"] = lambda c, u=rng.random(), b=rng.randrange(8): _flip(
        c.safetensors, 8 + _header_size(c.safetensors) + int(u * (len(c.safetensors) - 8 - _header_size(c.safetensors))), b)
CASES["flip-st-exponent"] = lambda c: _flip(c.safetensors, len(c.safetensors) - 401, 6)  # finite, ~1e37
for i in range(4):
    CASES[f"flip-st-length-{i}"] = lambda c, b=rng.randrange(64): _flip(c.safetensors, b // 8, b % 8)
for i in range(20):
    CASES[f"flip-pt-{i}"] = lambda c, u=rng.random(), b=rng.randrange(8): _flip(c.legacy, int(u * len(c.legacy)), b)


# edited contents of a format-2 file (weights checksum rewritten, so only the edit is tested)
def _edit_contents(edit):
    def build(c):
        tensors, metadata, contents = safetensors_parts(c.safetensors)
        edit(contents)
        return safetensors_bytes(tensors, metadata, contents, rehash=True)
    return build


MODEL_EDITS = {
    "latent_dim": [2.0, "2", True, None, -1, 0, 10**6, 10**30, [2], 10**400],
    "hidden_sizes": [[1] * 200_000, [10**9], [-1], "16", [16.0], None, [[16]], [16] * 17, [0], 5],
    "image_shape": [[784], [1, 28, -28], [1, 28, 28, 1], [1, 2, 392], [1, 28, 28.0], "1x28x28", [0, 28, 28]],
    "beta": [-1, "1", None, float("inf"), float("nan"), [1.0], True],
    "decoder_std": [0, -0.1, "0.1", float("nan")],
    "kind": ["diffusion", 5, None, ["vae"]],
    "likelihood": ["poisson", 0],
    "architecture": ["conv", None],
    "num_classes": [0, 2.0, -3, 10**12],
}
for key, values in MODEL_EDITS.items():
    for i, value in enumerate(values):
        CASES[f"model_config-{key}-{i}"] = _edit_contents(lambda co, k=key, v=value: co["model_config"].__setitem__(k, v))
CASES["model_config-unknown-key"] = _edit_contents(lambda co: co["model_config"].__setitem__("depth", 3))
CASES["model_config-kind-cvae"] = _edit_contents(lambda co: co["model_config"].__setitem__("kind", "cvae"))
CASES["model_config-kind-ae"] = _edit_contents(lambda co: co["model_config"].__setitem__("kind", "ae"))
for value in ([], "vae", None, 3):
    CASES[f"model_config-is-{value!r}"] = _edit_contents(lambda co, v=value: co.__setitem__("model_config", v))
TRAIN_EDITS = {"epochs": [2.5, 0, "3"], "lr": ["fast", -1, float("inf")], "subset": [0, 1.5], "seed": [1.5, None],
               "input_noise": ["salt"], "noise_level": [2.0, None], "batch_size": [[128]]}
for key, values in TRAIN_EDITS.items():
    for i, value in enumerate(values):
        CASES[f"train_config-{key}-{i}"] = _edit_contents(lambda co, k=key, v=value: co["train_config"].__setitem__(k, v))
for key in checkpoint_format.CONTENT_KEYS:
    CASES[f"contents-missing-{key}"] = _edit_contents(lambda co, k=key: co.pop(k))
CONTENT_EDITS = {
    "metrics": [{}, {"test_neg_elbo": float("nan")}, {"test_neg_elbo": float("inf")}, [], {"test_kl": "7"},
                {"test_kl": None}, {"test_kl": True}],
    "history": ["x", [1, 2], [{"epoch": "one"}], [{"loss": float("nan")}], [], [{"epoch": 1}] * 300_000],
    "dataset": [None, [], {"name": ["x"] * 10}],
    "versions": [[], "2.15", {"torch": {"a": {"b": 1}}}],
}
for key, values in CONTENT_EDITS.items():
    for i, value in enumerate(values):
        CASES[f"contents-{key}-{i}"] = _edit_contents(lambda co, k=key, v=value: co.__setitem__(k, v))


def _deeply_nested(c):
    tensors, metadata, contents = safetensors_parts(c.safetensors)
    metadata["contents"] = json.dumps(contents)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    return safetensors_bytes(tensors, metadata)


CASES["contents-deeply-nested"] = _deeply_nested


# edited metadata of a format-2 file
def _edit_metadata(edit, rehash=False):
    def build(c):
        tensors, metadata, _ = safetensors_parts(c.safetensors)
        edit(metadata)
        return safetensors_bytes(tensors, metadata, rehash=rehash)
    return build


METADATA_EDITS = {
    "format-foreign": lambda m: m.__setitem__("format", "someone-else"),
    "format-missing": lambda m: m.pop("format"),
    "version-1": lambda m: m.__setitem__("format_version", "1"),
    "version-3": lambda m: m.__setitem__("format_version", "3"),
    "version-missing": lambda m: m.pop("format_version"),
    "sha-missing": lambda m: m.pop("weights_sha256"),
    "sha-garbage": lambda m: m.__setitem__("weights_sha256", "xyz"),
    "sha-wrong": lambda m: m.__setitem__("weights_sha256", "0" * 64),
    "contents-missing": lambda m: m.pop("contents"),
    "contents-not-json": lambda m: m.__setitem__("contents", "{not json"),
    "contents-list": lambda m: m.__setitem__("contents", "[1, 2]"),
    "contents-huge-string": lambda m: m.__setitem__("contents", json.dumps({"x": "a" * (2 << 20)})),
    "extra-big-field": lambda m: m.__setitem__("padding", "b" * (2 << 20)),
}
for name, edit in METADATA_EDITS.items():
    CASES[f"metadata-{name}"] = _edit_metadata(edit)


def _no_metadata(c):
    tensors, _, _ = safetensors_parts(c.safetensors)
    return safetensors_bytes(tensors, {})


CASES["metadata-none-bare-state-dict"] = _no_metadata
CASES["header-claims-1TiB"] = lambda c: struct.pack("<Q", 1 << 40) + c.safetensors[8:]
CASES["header-claims-past-end"] = lambda c: struct.pack("<Q", len(c.safetensors)) + c.safetensors[8:]
CASES["header-not-object"] = lambda c: struct.pack("<Q", 2) + b"[]"
CASES["header-padded"] = lambda c: c.safetensors + b"\0" * 64


# edited tensors of a format-2 file (checksum rewritten: the loader's other checks must hold)
def _edit_tensors(edit):
    def build(c):
        tensors, metadata, _ = safetensors_parts(c.safetensors)
        edit(tensors)
        return safetensors_bytes(tensors, metadata, rehash=True)
    return build


def _set_one(value):
    def edit(tensors):
        t = tensors["encoder.1.0.weight"]
        t.view(-1)[123] = value
    return edit


TENSOR_EDITS = {
    "nan": _set_one(float("nan")),
    "inf": _set_one(float("inf")),
    "neg-inf": _set_one(float("-inf")),
    "huge": _set_one(4e37),
    "large": _set_one(1e5),
    "transposed": lambda t: t.__setitem__("encoder.1.0.weight", t["encoder.1.0.weight"].T.contiguous()),
    "float64": lambda t: t.__setitem__("encoder.1.0.bias", t["encoder.1.0.bias"].double()),
    "float16": lambda t: t.__setitem__("encoder.1.0.bias", t["encoder.1.0.bias"].half()),
    "int32": lambda t: t.__setitem__("encoder.1.0.bias", t["encoder.1.0.bias"].int()),
    "extra": lambda t: t.__setitem__("evil", torch.zeros(3)),
    "extra-empty": lambda t: t.__setitem__("evil", torch.zeros(0)),
    "missing": lambda t: t.pop("decoder.0.2.bias"),
    "all-missing": lambda t: t.clear(),
    "scalar": lambda t: t.__setitem__("encoder.1.0.bias", torch.tensor(1.0)),
    "bias-reshaped": lambda t: t.__setitem__("encoder.1.0.bias", t["encoder.1.0.bias"].reshape(4, 4)),
}
for name, edit in TENSOR_EDITS.items():
    CASES[f"tensor-{name}"] = _edit_tensors(edit)


# legacy .pt files: pickled code, edited payloads, zip tricks
class _Exec:
    """Pickles to a call that would create the marker file."""

    def __init__(self, marker: Path, via: str) -> None:
        self.marker, self.via = marker, via

    def __reduce__(self):
        if self.via == "system":
            return (os.system, (f"touch {self.marker}",))
        if self.via == "exec":
            return (builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",))
        return (builtins.open, (str(self.marker), "w"))


def _legacy_edit(edit):
    def build(c):
        payload = legacy_payload(c.model)
        edit(payload, c)
        return legacy_bytes(payload)
    return build


LEGACY_EDITS = {
    "pickle-system-top": lambda p, c: p.__setitem__("x", _Exec(c.marker, "system")),
    "pickle-exec-in-config": lambda p, c: p["model_config"].__setitem__("beta", _Exec(c.marker, "exec")),
    "pickle-open-in-state": lambda p, c: p["state_dict"].__setitem__("encoder.1.0.bias", _Exec(c.marker, "open")),
    "pickle-system-as-payload": lambda p, c: p.__setitem__("history", [_Exec(c.marker, "system")]),
    "tensor-format_version": lambda p, c: p.__setitem__("format_version", torch.tensor(1)),
    "tensor-beta": lambda p, c: p["model_config"].__setitem__("beta", torch.tensor(1.0)),
    "tensor-latent_dim": lambda p, c: p["model_config"].__setitem__("latent_dim", torch.tensor(2)),
    "float-latent_dim": lambda p, c: p["model_config"].__setitem__("latent_dim", 2.0),
    "negative-image-size": lambda p, c: p["model_config"].__setitem__("image_shape", [1, 28, -28]),
    "image_shape-784": lambda p, c: p["model_config"].__setitem__("image_shape", [784]),
    "latent-1e6": lambda p, c: p["model_config"].__setitem__("latent_dim", 10**6),
    "hidden-200k-ones": lambda p, c: p["model_config"].__setitem__("hidden_sizes", [1] * 200_000),
    "metrics-empty": lambda p, c: p.__setitem__("metrics", {}),
    "metrics-tensor": lambda p, c: p.__setitem__("metrics", {"test_kl": torch.tensor(1.0)}),
    "big-tensor-in-versions": lambda p, c: p.__setitem__("versions", {"x": torch.zeros(1 << 20)}),
    "nan-weight": lambda p, c: p["state_dict"]["encoder.1.0.weight"].view(-1).__setitem__(7, float("nan")),
    "huge-weight": lambda p, c: p["state_dict"]["encoder.1.0.weight"].view(-1).__setitem__(7, 4e37),
    "state-dict-list": lambda p, c: p.__setitem__("state_dict", [1, 2]),
    "state-dict-int-weights": lambda p, c: p["state_dict"].__setitem__(
        "encoder.1.0.bias", p["state_dict"]["encoder.1.0.bias"].int()),
    "format-version-2": lambda p, c: p.__setitem__("format_version", 2),
    "format-version-true": lambda p, c: p.__setitem__("format_version", True),
    "missing-state_dict": lambda p, c: p.pop("state_dict"),
}
for name, edit in LEGACY_EDITS.items():
    CASES[f"pt-{name}"] = _legacy_edit(edit)
CASES["pt-not-a-dict"] = lambda c: legacy_bytes([1, 2, 3])
CASES["pt-bare-state-dict"] = lambda c: legacy_bytes(c.model.state_dict())
CASES["pt-old-non-zip-pickle"] = lambda c: b"\x80\x02}q\x00." + b"\0" * 64


def _rezip(data: bytes, *, compression=zipfile.ZIP_STORED, extra: dict[str, bytes] | None = None,
           duplicate: bool = False) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
            if duplicate and info.filename.endswith("data.pkl"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": the point
                    target.writestr(info.filename, source.read(info))
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def _zip_bomb(c):
    """A deflated 64 MiB entry (64 KB on disk) where the archive's storages live."""
    prefix = zipfile.ZipFile(io.BytesIO(c.legacy)).namelist()[0].split("/")[0]
    out = io.BytesIO(_rezip(c.legacy))
    with zipfile.ZipFile(out, "a") as target:
        info = zipfile.ZipInfo(f"{prefix}/data/999")
        info.compress_type = zipfile.ZIP_DEFLATED
        with target.open(info, "w", force_zip64=True) as entry:
            block = bytes(1 << 20)
            for _ in range(64):
                entry.write(block)
    return out.getvalue()


def _local_header_says_deflated(c):
    data = bytearray(c.legacy)
    first = zipfile.ZipFile(io.BytesIO(c.legacy)).infolist()[1]
    data[first.header_offset + 8] = zipfile.ZIP_DEFLATED
    return bytes(data)


def _many_entries(c):
    return _rezip(c.legacy, extra={f"archive/junk/{i}": b"" for i in range(1500)})


ZIP_TRICKS = {
    "deflated-archive": lambda c: _rezip(c.legacy, compression=zipfile.ZIP_DEFLATED),
    "bomb-entry": _zip_bomb,
    "local-header-deflated": _local_header_says_deflated,
    "duplicate-entry": lambda c: _rezip(c.legacy, duplicate=True),
    "1500-entries": _many_entries,
    "prepended-garbage": lambda c: b"GARBAGE!" * 16 + c.legacy,
    "appended-garbage": lambda c: c.legacy + b"GARBAGE!" * 16,
    "crc-zeroed": lambda c: c.legacy.replace(
        struct.pack("<I", zipfile.ZipFile(io.BytesIO(c.legacy)).infolist()[-1].CRC), b"\0\0\0\0"),
}
for name, build in ZIP_TRICKS.items():
    CASES[f"zip-{name}"] = build

# not checkpoints at all
CASES["empty"] = lambda c: b""
CASES["zeros"] = lambda c: bytes(4096)
CASES["random"] = lambda c, seed=rng.random(): random.Random(seed).randbytes(50_000)
CASES["text"] = lambda c: b"hello, I am not a checkpoint"
CASES["json"] = lambda c: json.dumps(contents_for(c.model)).encode()
CASES["pk-magic-only"] = lambda c: b"PK\x03\x04" + bytes(100)


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_checkpoint(name, ctx, test_batch):
    data = CASES[name](ctx)
    peak = _peak_rss_bytes()
    start = time.process_time()
    try:
        loaded = load_checkpoint(data)
    except CheckpointError as exc:
        loaded = None
        message = str(exc)
        assert message.startswith("uploaded file: ") and "\n" not in message.strip(), message
        assert len(message) < checkpoint_format.MAX_MESSAGE_CHARS, f"{name}: {len(message)} characters: {message[:400]}"
        assert exc.reason in message and message.endswith(exc.advice), message
    seconds = time.process_time() - start
    assert seconds < MAX_SECONDS, f"{name}: {seconds:.2f} CPU s"
    assert _peak_rss_bytes() - peak < MAX_PEAK_GROWTH_BYTES, f"{name}: peak memory grew too much"
    assert not ctx.marker.exists(), f"{name}: pickled code ran"
    if loaded is not None:  # whatever loads must render: finite metrics, encodable test set
        images, labels = test_batch
        metrics = evaluate(loaded.model, images, labels)
        assert all(v is None or math.isfinite(v) for v in metrics.values()), (name, metrics)
        encodings = encode_dataset(loaded.model, images, labels)
        assert torch.isfinite(torch.as_tensor(encodings.mu)).all()


def test_the_case_list_is_large_and_hits_both_outcomes(ctx):
    outcomes = {"refused": 0, "loaded": 0}
    for name in ("flip-st-header-0", "model_config-latent_dim-0", "contents-metrics-0", "truncate-st-0.5"):
        try:
            load_checkpoint(CASES[name](ctx))
            outcomes["loaded"] += 1
        except CheckpointError:
            outcomes["refused"] += 1
    assert len(CASES) >= 200
    assert outcomes["refused"] >= 3 and outcomes["loaded"] >= 1  # empty metrics loads; the Explorer copes


def test_the_reported_attacks_are_refused_with_a_reason(ctx):
    expectations = {
        "model_config-latent_dim-0": "latent_dim.*must be an integer",
        "model_config-latent_dim-6": "parameters, more than",
        "model_config-hidden_sizes-0": "model_config is too large",
        "model_config-image_shape-0": "image_shape",
        "pt-tensor-format_version": "format version",
        "pt-tensor-beta": "model_config holds a Tensor",
        "pt-negative-image-size": "image_shape",
        "zip-bomb-entry": "more data than the file holds",
        "zip-local-header-deflated": "compressed",
        "flip-st-exponent": "SHA-256",
        "tensor-nan": "NaN or infinite",
        "pt-huge-weight": "beyond",
        "metadata-extra-big-field": "header of",
    }
    for name, pattern in expectations.items():
        with pytest.raises(CheckpointError, match=pattern):
            load_checkpoint(CASES[name](ctx))


# --- files: FIFOs, killed saves, the CLI ----------------------------------------------------


def _finishes(function, seconds: float = 10.0) -> tuple[bool, object]:
    result: list = []
    thread = threading.Thread(target=lambda: result.append(_outcome(function)), daemon=True)
    thread.start()
    thread.join(seconds)
    return (not thread.is_alive()), (result[0] if result else None)


def _outcome(function):
    try:
        return function()
    except Exception as exc:  # returned, so the test can name it
        return exc


def test_a_fifo_in_the_checkpoint_folder_neither_hangs_nor_is_listed(tmp_path, ctx):
    from explorer.ui.state import registry

    (tmp_path / "good.safetensors").write_bytes(ctx.safetensors)
    for name in ("fifo.safetensors", "fifo.pt"):
        os.mkfifo(tmp_path / name)
    assert [p.name for p in registry.checkpoint_files(tmp_path)] == ["good.safetensors"]
    finished, outcome = _finishes(lambda: load_checkpoint(tmp_path / "fifo.pt"))
    assert finished, "loading a FIFO hangs"
    assert isinstance(outcome, CheckpointError) and "not a regular file" in str(outcome)


def _save_killed_midway(path: Path, model) -> None:
    """Fork a process that starts saving ``path`` and SIGKILL it mid-write (before fsync)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            def hang(fd):
                os.write(write_end, b"w")
                time.sleep(60)

            os.fsync = hang
            save_checkpoint(path, model, train_config=TrainConfig(), history=[], metrics={}, dataset={})
        finally:
            os._exit(1)
    try:
        assert os.read(read_end, 1) == b"w"  # the temporary file is written, not yet renamed
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        os.close(write_end)


def test_a_save_killed_midway_leaves_a_temporary_that_the_next_save_removes(tmp_path, ctx):
    _save_killed_midway(tmp_path / "killed.safetensors", ctx.model)
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".killed.safetensors.")]
    assert len(left) == 1 and left[0].stat().st_size > 0 and not (tmp_path / "killed.safetensors").exists()
    fd, live = temporary_file(tmp_path / "in-progress.safetensors")  # a save of this live process
    os.close(fd)
    path = save_checkpoint(tmp_path / "next.safetensors", ctx.model, train_config=TrainConfig(), history=[],
                           metrics={}, dataset={})
    assert not left[0].exists(), "the killed save's temporary file was not removed"
    assert Path(live).exists(), "a save in progress was touched"
    assert load_checkpoint(path).verified


def test_listing_the_checkpoint_folder_reaps_dead_writers_temporaries(tmp_path):
    from explorer.ui.state import registry

    dead = tmp_path / ".x.safetensors.999999999.abcd1234.tmp"  # pid beyond any pid_max
    dead.write_bytes(b"\0" * 100)
    old = tmp_path / ".y.pt.abcd1234.tmp"  # an older save's name: no pid, so removed by age
    old.write_bytes(b"\0" * 100)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    fresh = tmp_path / ".z.pt.efgh5678.tmp"
    fresh.write_bytes(b"\0" * 100)
    assert registry.checkpoint_files(tmp_path) == []
    assert not dead.exists() and not old.exists() and fresh.exists()


def test_evaluate_cli_prints_one_line_for_a_bad_file_and_never_invalid_json(tmp_path, ctx, monkeypatch, capsys):
    from explorer.cli import evaluate as cli

    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(CASES["model_config-latent_dim-0"](ctx))
    assert cli.main([str(bad)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and out.err.startswith("error: ")
    good = tmp_path / "good.safetensors"
    good.write_bytes(ctx.safetensors)
    monkeypatch.setattr(cli, "evaluate", lambda *args: {"test_neg_elbo": float("inf"), "test_kl": 1.0})
    assert cli.main([str(good)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "non-finite test_neg_elbo" in out.err and out.err.count("\n") == 1
