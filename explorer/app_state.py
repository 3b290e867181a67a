"""Streamlit glue shared by every page: caches, the model choice, session-state defaults.

- ``st.cache_resource`` holds the MNIST test split and each loaded checkpoint (the
  model in eval mode, never trained in place), keyed by file path and modification
  time, so a changed file is reloaded and an unchanged one never is.
- ``st.cache_data`` holds the test-set encodings of a model under an explicit
  hashable key (``ModelEntry.key``).
- Models trained in the app live in this browser session's ``session_models`` and
  are offered beside the checkpoint files.
- :func:`init_session_state` is the one place that sets session-state defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from explorer.checkpoints import Checkpoint, CheckpointError, load_checkpoint
from explorer.data import load_split
from explorer.latent import Encodings, encode_dataset

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
DEFAULT_CHECKPOINT = "mnist_vae_z2.pt"
MODEL_CHOICE_KEY = "model_choice"
CURRENT_MODEL_KEY = "current_model"
SESSION_MODELS_KEY = "session_models"
FILE_PREFIX = "file:"
SESSION_PREFIX = "session:"


@dataclass(frozen=True)
class ModelEntry:
    """The model chosen in the sidebar.

    Attributes:
        key: hashable identity for caches: ``file:<path>@<mtime_ns>`` or
            ``session:<name>``; changes whenever the weights can have changed.
        label: what the user sees.
        checkpoint: the loaded checkpoint (model in eval mode).
    """

    key: str
    label: str
    checkpoint: Checkpoint


def init_session_state() -> None:
    """Set every session-state default this app uses, once per session."""
    st.session_state.setdefault(SESSION_MODELS_KEY, {})
    st.session_state.setdefault(CURRENT_MODEL_KEY, None)


@st.cache_resource(show_spinner="Loading the MNIST test split...")
def test_split() -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST test images (10000, 1, 28, 28) in [0, 1] and labels (10000,), shared by all sessions."""
    return load_split(train=False)


@st.cache_resource(show_spinner="Loading checkpoint...", max_entries=16)
def _load_checkpoint_file(path: str, mtime_ns: int) -> Checkpoint:
    """A checkpoint file, loaded once per (path, modification time)."""
    return load_checkpoint(path)


def checkpoint_files(folder: Path | None = None) -> list[Path]:
    """The ``*.pt`` files in ``folder`` (default :data:`CHECKPOINT_DIR`), the shipped VAE first."""
    files = sorted((CHECKPOINT_DIR if folder is None else folder).glob("*.pt"))
    return sorted(files, key=lambda p: p.name != DEFAULT_CHECKPOINT)


def model_options() -> dict[str, str]:
    """Choice value -> label for every checkpoint file and session model."""
    options = {f"{FILE_PREFIX}{p}": p.name for p in checkpoint_files()}
    for name in st.session_state.get(SESSION_MODELS_KEY, {}):
        options[f"{SESSION_PREFIX}{name}"] = f"{name} (trained in this session)"
    return options


def resolve_model(choice: str) -> ModelEntry:
    """Load the model behind a choice value from :func:`model_options`.

    Raises:
        CheckpointError: the file is not a usable checkpoint (or has disappeared).
        KeyError: a session model of that name does not exist.
    """
    if choice.startswith(SESSION_PREFIX):
        name = choice[len(SESSION_PREFIX) :]
        return ModelEntry(choice, name, st.session_state[SESSION_MODELS_KEY][name])
    path = Path(choice[len(FILE_PREFIX) :])
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: no such checkpoint file") from exc
    return ModelEntry(f"{choice}@{mtime_ns}", path.name, _load_checkpoint_file(str(path), mtime_ns))


def select_model() -> None:
    """Sidebar choice of model, stored for the pages (see :func:`current_model`).

    A bad checkpoint shows its error in the sidebar and leaves no current model.
    """
    st.session_state[CURRENT_MODEL_KEY] = None
    options = model_options()
    if not options:
        st.sidebar.error(f"No checkpoints found in {CHECKPOINT_DIR}.")
        return
    choice = st.sidebar.selectbox(
        "Model", list(options), format_func=options.__getitem__, key=MODEL_CHOICE_KEY
    )
    try:
        st.session_state[CURRENT_MODEL_KEY] = resolve_model(choice)
    except (CheckpointError, KeyError) as exc:
        st.sidebar.error(f"Cannot use this model: {exc}")


def current_model() -> ModelEntry | None:
    """The model chosen in the sidebar on this run, or None if none is usable."""
    return st.session_state.get(CURRENT_MODEL_KEY)


@st.cache_data(show_spinner="Encoding the 10,000 test digits...", max_entries=32)
def test_encodings(key: str, _model: torch.nn.Module) -> Encodings:
    """Encodings of the MNIST test split under the model identified by ``key``.

    ``_model`` is not hashed (leading underscore): ``key`` must identify its weights.
    """
    images, labels = test_split()
    return encode_dataset(_model, images, labels)
