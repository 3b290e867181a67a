"""Loading a checkpoint, safe from anyone: the one gate of every model the app shows.

:func:`load_checkpoint` reads the file and checks its structure, types, sizes and
checksums before it builds anything (:mod:`explorer.core.checkpoint_reading`), rebuilds
the model its config describes, and runs the probe of
:func:`explorer.core.limits.absurd_outputs` (real test digits, every label of a
conditional model); where the file came from decides where its metrics come from
(:mod:`explorer.core.checkpoint_trust`, :attr:`Checkpoint.metrics_source`). Whatever is
wrong, the only exception it raises is :class:`CheckpointError`, whose message is one
sentence under :data:`MAX_MESSAGE_CHARS` characters that says what is wrong and what to
do (:attr:`CheckpointError.reason` holds the bare reason).

The file format and writing: :mod:`explorer.core.checkpoint_format` (its
:class:`CheckpointError` and :func:`save_checkpoint` are imported here too, for their many
callers).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

import torch

from explorer.core.checkpoint_format import (  # noqa: F401  (re-exported for their many callers)
    BROKEN,
    DAMAGED,
    MAX_MESSAGE_CHARS,
    TOO_LARGE,
    CheckpointError,
    _clip,
    _message,
    LEGACY_SUFFIX,
    SUFFIX,
    save_checkpoint,
)
from explorer.core.checkpoint_reading import MAX_FILE_BYTES, parse_checkpoint, read_source
from explorer.core.checkpoint_trust import SHIPPED_MANIFEST, default_test_split, recompute_metrics, shipped_digests
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.data import DataError
from explorer.core.limits import absurd_outputs
from explorer.core.models import Autoencoder, build_model


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
                     test_split=test_split or default_test_split)
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
        data = read_source(source)
    except OSError as exc:
        raise CheckpointError(f"cannot be read: {_clip(exc.strerror or exc, 80)}",
                              "Check the file's permissions, or choose another checkpoint.") from exc
    shipped = hashlib.sha256(data).hexdigest() in shipped_digests()
    contents, tensors, checksummed = parse_checkpoint(data)
    verified = shipped or checksummed
    del data
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


def m1_fields(path: str | Path) -> dict:
    """The :class:`ModelConfig` fields of an M1+M2 model (Kingma et al. 2014, Sec. 3.2) that
    stands on the M1 VAE in the file ``path``: ``{"m1", "m1_sha256", "m1_latent_dim"}``.
    ``m1`` is the path relative to the project where the file is inside it (so the model
    loads from another clone), else ``path`` as given. Reads the file's header and hashes
    its bytes, builds nothing; :func:`load_m1` then loads and checks the VAE itself. The
    one way the command line (``--m1``) and the Train page name an M1.

    Raises:
        ValueError: no such file, or its header is not that of an unconditional VAE
            checkpoint (the message names the file and says what to give instead).
    """
    from explorer.core.checkpoint_summary import read_summary

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file (give an M1 VAE checkpoint, e.g. "
                         "checkpoints/mnist_vae_z20.safetensors)")
    summary = read_summary(path)
    if summary is None or summary.model_config.kind != "vae":
        what = ("is not a readable checkpoint" if summary is None
                else f"holds a model of kind {summary.model_config.kind!r}")
        raise ValueError(f"{path.name} {what}; M1+M2 needs an unconditional VAE (kind 'vae') as its M1, "
                         "e.g. checkpoints/mnist_vae_z20.safetensors")
    root = SHIPPED_MANIFEST.parent.parent.resolve()
    resolved = path.resolve()
    name = str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(path)
    return {"m1": name, "m1_sha256": file_sha256(path), "m1_latent_dim": summary.model_config.latent_dim}


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
