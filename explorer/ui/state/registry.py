"""The session's model registry: shipped checkpoint files, models trained in this
session and uploads, handed out as :class:`~explorer.ui.state.model_entry.ModelEntry` to any
view (its key identifies the weights: the caches know a model by it).

- Checkpoint files in ``checkpoints/`` are loaded once per (path, modification time)
  and shared by every session (:func:`explorer.ui.state.caches.checkpoint_file`).
- Models trained or uploaded in a browser session live in that session's state and are
  offered beside the files, for this session only.
- :func:`model_options` lists the models of a group as ``choice value -> name`` (the file
  or session-model name, what URLs carry); :func:`model_labels` gives their short names for
  people (``VAE · z = 2 · shipped``, :mod:`explorer.ui.state.model_names`) for a widget's
  ``format_func``, :func:`choice_help` the help that names the file;
  :func:`resolve_model` turns a choice value into a :class:`ModelEntry`, so a page can
  put any models it likes into its views. :func:`select_model` draws the sidebar's
  choice, which pages read with :func:`current_model` (resolved from the choice each time
  it is asked for: only the widget's value is stored).
- Groups (:data:`MODEL_GROUPS`), by the checkpoint's content (never its name): ``"autoencoder"`` (AE, VAE,
  conditional, denoising, contractive: what the map pages use; the sidebar offers these)
  and ``"semi_supervised"`` (M2 and M1+M2, :attr:`CheckpointSummary.semi_supervised`); the
  digit classifier is never offered.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
import uuid
from datetime import datetime, timezone
from dataclasses import replace
from pathlib import Path

import streamlit as st

from explorer.core.checkpoint_format import CHECKPOINT_SUFFIXES
from explorer.core.checkpoint_reading import MAX_FILE_BYTES
from explorer.core.checkpoint_summary import CheckpointSummary
from explorer.core.checkpoints import Checkpoint, CheckpointError, load_checkpoint, save_new_checkpoint
from explorer.core.classifier import is_classifier_file
from explorer.core.files import reap_stale_temporaries
from explorer.core.semi_supervised import is_semi_supervised_file
from explorer.ui.state import browser_store, caches, model_names
from explorer.ui.state.model_entry import ModelEntry
from explorer.ui.state.session import (
    MODEL_CHOICE_KEY,
    PENDING_CHOICE_KEY,
    REFUSED_UPLOADS_KEY,
    SAVE_NAME_KEY,
    SESSION_MODELS_KEY,
    TRAINING_JOB_KEY,
    SessionModel,
    UPLOADED_FILE_IDS_KEY,
)

#: Where checkpoints are listed and saved: one folder that every replica of the app reads
#: (``python -m explorer.serve``); ``EXPLORER_CHECKPOINT_DIR`` names another one.
CHECKPOINT_DIR = Path(os.environ.get("EXPLORER_CHECKPOINT_DIR") or Path(__file__).resolve().parents[3] / "checkpoints")
DEFAULT_CHECKPOINT = "mnist_vae_z2.safetensors"
FILE_PREFIX = "file:"
SESSION_PREFIX = "session:"
#: Groups of models a page can ask :func:`model_options` for (see the module docstring); not
#: "families": the family is every model of the library, and the model-kind pages show its members.
MODEL_GROUPS = ("autoencoder", "semi_supervised")
#: A training run's time stamp at the end of its name (explorer.ui.jobs.train_form.run_name).
_RUN_STAMP = re.compile(r"_(\d{8}T\d{6}Z)(?:-\d+)?$")


def add_session_model(name: str, checkpoint: Checkpoint, remember: bool = True) -> str:
    """Offer ``checkpoint`` in this session's model choice, on every page, at once.

    Args:
        name: wanted name; ``-2``, ``-3``, ... is appended if this session already
            has a model of that name (nothing is replaced).
        checkpoint: a loaded, validated checkpoint.
        remember: also keep it for this browser's later sessions, so it survives a
            reload (:mod:`explorer.ui.state.browser_store`).

    Returns:
        The name it was stored under.
    """
    models = st.session_state[SESSION_MODELS_KEY]
    unique, n = name, 1
    while unique in models:
        n += 1
        unique = f"{name}-{n}"
    models[unique] = SessionModel(checkpoint, uuid.uuid4().hex, time.time())
    if remember:
        browser_store.remember_session_model(unique, checkpoint)
    return unique


def adopt_finished_training() -> str | None:
    """Offer this session's finished training run in the model choice (once) and
    choose it; called on every run by :func:`select_model`, so the model appears on
    whatever page the user is on.

    Returns:
        The session-model name it got, or None if there was nothing new to adopt.
    """
    job = st.session_state.get(TRAINING_JOB_KEY)
    if job is None or not job.done or job.session_model_name is not None:
        return None
    snapshot = job.snapshot()
    if snapshot.checkpoint is None:  # failed, or diverged before one epoch finished
        return None
    name = add_session_model(snapshot.name, snapshot.checkpoint)
    job.session_model_name = name
    st.session_state[SAVE_NAME_KEY] = f"{name}.safetensors"
    choose_session_model(name)
    return name


def add_uploaded_checkpoint(file_id: str, file_name: str, data: bytes) -> str:
    """Validate an uploaded checkpoint and offer it in the model choice (once per upload).

    Nothing in the file is executed (see :func:`explorer.core.checkpoints.load_checkpoint`,
    which also probes the model and, unless it is a shipped file, recomputes its metrics
    on the test split). A refused upload is remembered by its id and the SHA-256 of its bytes, so reruns
    repeat the refusal without parsing the file again.

    Args:
        file_id: the upload's id (the same upload seen on a rerun is not added again).
        file_name: the uploaded file's name; its stem names the session model.
        data: the file's bytes.

    Returns:
        The session-model name.

    Raises:
        CheckpointError: corrupt, foreign or incompatible file (nothing is added).
    """
    seen = st.session_state[UPLOADED_FILE_IDS_KEY]
    if file_id in seen:
        return seen[file_id]
    refused = st.session_state[REFUSED_UPLOADS_KEY]
    if len(data) > MAX_FILE_BYTES:  # refused by its size at once, not even hashed
        load_checkpoint(data, name=file_name)
    key = (file_id, hashlib.sha256(data).hexdigest())
    if key in refused:
        raise CheckpointError(refused[key])
    try:
        checkpoint = load_checkpoint(data, name=file_name, test_split=caches.mnist_test_split)
    except CheckpointError as exc:
        refused[key] = str(exc)
        raise
    name = add_session_model(f"{Path(file_name).stem} (uploaded)", checkpoint)
    seen[file_id] = name
    choose_session_model(name)
    return name


def choose_session_model(name: str) -> None:
    """Make the session model ``name`` the sidebar choice from the next run on
    (applied by :func:`select_model` before it draws the choice)."""
    st.session_state[PENDING_CHOICE_KEY] = f"{SESSION_PREFIX}{name}"


def _is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def file_summary(path: Path) -> CheckpointSummary | None:
    """What the checkpoint file ``path`` holds, from its header (read once per modification;
    None for a file whose header is not a readable checkpoint's: loading it says why)."""
    try:
        info = path.stat()
    except OSError:
        return None
    return caches.checkpoint_summary(str(path), info.st_mtime_ns, info.st_size)


def _in_group(semi_supervised: bool, group: str) -> bool:
    if group not in MODEL_GROUPS:
        raise ValueError(f"group must be one of {MODEL_GROUPS}, got {group!r}")
    return semi_supervised == (group == "semi_supervised")


def checkpoint_files(folder: Path | None = None, group: str = "autoencoder") -> list[Path]:
    """The checkpoint files (``*.safetensors``, legacy ``*.pt``) of a group of models in
    ``folder`` (default :data:`CHECKPOINT_DIR`), the shipped VAE first. By the files'
    content: the digit classifier that shares the folder is never listed
    (:func:`explorer.core.classifier.is_classifier_file`), M2 and M1+M2 files
    (:func:`explorer.core.semi_supervised.is_semi_supervised_file`: the map pages cannot use
    them) only for ``group="semi_supervised"``, a file whose header is unreadable only for
    ``"autoencoder"`` (choosing it shows why it cannot be used).

    Only regular files are listed (a FIFO or folder of that name is skipped, so nothing
    hangs); temporary files of killed saves are removed on the way
    (:func:`explorer.core.files.reap_stale_temporaries`).
    """
    folder = CHECKPOINT_DIR if folder is None else folder
    reap_stale_temporaries(folder)
    files = sorted(p for suffix in CHECKPOINT_SUFFIXES for p in folder.glob(f"*{suffix}")
                   if not p.name.startswith(".") and _is_regular_file(p) and not is_classifier_file(p))
    files = [p for p in files if _in_group(is_semi_supervised_file(p), group)]
    return sorted(files, key=lambda p: p.name != DEFAULT_CHECKPOINT)


def model_options(group: str = "autoencoder") -> dict[str, str]:
    """Choice value -> name (file name, or session-model name) for every checkpoint file and
    session model of ``group`` (one of :data:`MODEL_GROUPS`; see :func:`checkpoint_files`).
    Widgets show :func:`model_labels` of these.

    Raises:
        ValueError: unknown group.
    """
    options = {f"{FILE_PREFIX}{p}": p.name for p in checkpoint_files(group=group)}
    for name, record in st.session_state.get(SESSION_MODELS_KEY, {}).items():
        if _in_group(record.model.is_semi_supervised, group):
            options[f"{SESSION_PREFIX}{name}"] = name
    return options


def vae_file_options() -> dict[str, str]:
    """Choice value -> file name (as :func:`model_options`) of the unconditional VAE files in
    :data:`CHECKPOINT_DIR`, shipped or saved: the M1s an M1+M2 model can train on (Kingma
    et al. 2014, Sec. 3.2), by their headers; widgets show :func:`model_labels` of these."""
    return {f"{FILE_PREFIX}{p}": p.name for p in checkpoint_files()
            if (summary := file_summary(p)) is not None and summary.model_config.kind == "vae"}


def save_to_checkpoints(file_name: str, checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` as the new file ``file_name`` in :data:`CHECKPOINT_DIR` (never over
    another; :func:`explorer.core.checkpoints.save_new_checkpoint`); the model choices list it.

    Raises:
        FileExistsError: a file of that name exists (nothing written).
        ValueError: a name that is not a plain ``.safetensors`` file name.
        OSError: the folder cannot be written.
    """
    return save_new_checkpoint(CHECKPOINT_DIR, file_name, checkpoint)


def _session_time(name: str) -> float | None:
    stamp = _RUN_STAMP.search(name)
    if stamp:  # when the run finished, also for a model restored in a later session
        return datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
    record = st.session_state.get(SESSION_MODELS_KEY, {}).get(name)
    return None if record is None else record.added


def _label(choice: str, now: datetime | None) -> str:
    if choice.startswith(SESSION_PREFIX):
        name = choice[len(SESSION_PREFIX):]
        checkpoint = st.session_state[SESSION_MODELS_KEY][name].checkpoint
        origin = "session" if checkpoint.origin == "trained" else "uploaded"
        return model_names.model_label(checkpoint.model_config, checkpoint.train_config, origin,
                                       _session_time(name), now)
    path = Path(choice[len(FILE_PREFIX):])
    summary = file_summary(path)
    if summary is None:  # a legacy or unreadable file: its name
        return path.name
    return model_names.model_label(summary.model_config, summary.train_config,
                                   "shipped" if summary.shipped else "file", summary.modified, now)


def model_labels(options: dict[str, str], now: datetime | None = None) -> dict[str, str]:
    """Choice value -> short name for people (distinct) for :func:`model_options`' choices,
    e.g. ``VAE · z = 2 · shipped``, ``AE · z = 2 · trained 12:41 today (this session)``
    (:func:`explorer.ui.state.model_names.model_label`); a file whose header cannot be read
    shows its file name.

    Args:
        options: choice value -> name, from :func:`model_options`.
        now: the present (for "today"; default: now).
    """
    original = frozenset(c for c, name in options.items() if c.startswith(FILE_PREFIX)
                         and getattr(file_summary(Path(c[len(FILE_PREFIX):])), "shipped_name", None) == name)
    return model_names.unique_labels({c: _label(c, now) for c in options}, options, original=original)


def shown_together(entries: list[ModelEntry], choices: list[str],
                   labels: dict[str, str] | None = None) -> list[ModelEntry]:
    """``entries`` (resolved from ``choices``) with titles that tell them apart where a page
    shows them side by side: each choice's name in the model choice (``labels``, from
    :func:`model_labels`; computed when None), ``#2`` after a second copy of one model
    (:func:`explorer.ui.state.model_names.distinct_titles`)."""
    if labels is None:
        labels = model_labels(model_options())
    titles = model_names.distinct_titles([labels.get(c, e.title) for e, c in zip(entries, choices)])
    return [replace(e, title=t) for e, t in zip(entries, titles)]


def choice_help(choice: str | None, options: dict[str, str], what: str = "") -> str:
    """Help text of a model choice: what its names mean and the chosen model's file
    (or session-model) name, which the short name leaves out."""
    name = options.get(choice)
    where = "" if name is None else f"\n\nChosen{_source(choice, name)}"
    return f"{what}{' ' if what else ''}{model_names.NAME_HELP}{where}"


def _source(choice: str, name: str) -> str:
    if choice.startswith(SESSION_PREFIX):
        return f": **{name}**, trained or uploaded in this browser session (not a file)."
    return f" file: `{CHECKPOINT_DIR.name}/{name}`"


def title_help(entry: ModelEntry) -> str:
    """Help text beside a model's short name (``entry.title``) where a page shows it: what
    the name's parts mean and the file (or session-model) name it leaves out."""
    return f"{model_names.NAME_HELP}\n\nModel{_source(entry.key, entry.label)}"


def resolve_model(choice: str) -> ModelEntry:
    """Load the model behind a choice value from :func:`model_options`.

    Raises:
        CheckpointError: the file is not a usable checkpoint (or has disappeared).
        KeyError: a session model of that name does not exist.
    """
    if choice.startswith(SESSION_PREFIX):
        name = choice[len(SESSION_PREFIX) :]
        record = st.session_state[SESSION_MODELS_KEY][name]
        return ModelEntry(f"{choice}@{record.uid}", name, record.checkpoint, _label(choice, None))
    path = Path(choice[len(FILE_PREFIX) :])
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: no such checkpoint file") from exc
    return ModelEntry(f"{choice}@{mtime_ns}", path.name, caches.checkpoint_file(str(path), mtime_ns),
                      _label(choice, None))


def select_model() -> None:
    """Sidebar choice of model, for the pages to read (see :func:`current_model`).

    A bad checkpoint shows its error in the sidebar; :func:`current_model` then gives None.
    """
    adopt_finished_training()
    options = model_options()
    if not options:
        st.session_state.pop(MODEL_CHOICE_KEY, None)  # no choice drawn: no current model
        st.sidebar.error(f"No model files found in {CHECKPOINT_DIR.name}/: train one on the Train page, "
                         "or restore the shipped ones with `git checkout -- checkpoints`.")
        return
    pending = st.session_state.get(PENDING_CHOICE_KEY)
    if pending in options:
        st.session_state[MODEL_CHOICE_KEY] = pending
    st.session_state[PENDING_CHOICE_KEY] = None
    labels = model_labels(options)
    chosen = st.session_state.get(MODEL_CHOICE_KEY)
    chosen = chosen if chosen in options else next(iter(options))  # what the widget will show
    choice = st.sidebar.selectbox("Model", list(options), format_func=labels.__getitem__, key=MODEL_CHOICE_KEY,
                                  help=choice_help(chosen, options))
    browser_store.remember_choice(choice)  # a reload in this browser shows the same model
    try:
        resolve_model(choice)
    except (CheckpointError, KeyError) as exc:
        st.sidebar.error(f"Cannot use this model: {exc}")


def current_model() -> ModelEntry | None:
    """The model chosen in the sidebar, or None if none is usable: the sidebar's choice
    (its widget's value) resolved on each call, through the caches that load each file
    once (:func:`resolve_model`), so no copy of the entry is kept in the session."""
    choice = st.session_state.get(MODEL_CHOICE_KEY)
    if choice is None:
        return None
    try:
        return resolve_model(choice)
    except (CheckpointError, KeyError):
        return None
