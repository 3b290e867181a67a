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

import uuid
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from explorer.checkpoints import Checkpoint, CheckpointError, load_checkpoint
from explorer.data import DATASET_NAME, load_split, prepare_mnist
from explorer.images import png_bytes
from explorer.latent import (
    Encodings,
    LatentRange,
    decode_manifold,
    encode_dataset,
    encodings_table,
    manifold_coordinates,
    manifold_z,
)

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
DEFAULT_CHECKPOINT = "mnist_vae_z2.pt"
MODEL_CHOICE_KEY = "model_choice"
CURRENT_MODEL_KEY = "current_model"
SESSION_MODELS_KEY = "session_models"
SESSION_MODEL_IDS_KEY = "session_model_ids"
PENDING_CHOICE_KEY = "pending_model_choice"
TRAINING_JOB_KEY = "training_job"
UPLOADED_FILE_IDS_KEY = "uploaded_file_ids"
SAVE_NAME_KEY = "save_name"  # the Train page's file-name field
FILE_PREFIX = "file:"
SESSION_PREFIX = "session:"

# Explorer widgets and state (keys double as widget keys where they name a widget).
MAP_KEY = "latent_map"
GRID_CHART_KEY = "manifold_chart"
Z_SLIDER_KEYS = ("z1_slider", "z2_slider")
SAMPLE_TOGGLE_KEY = "decoder_sample"
SAMPLE_SEED_KEY = "decoder_sample_seed"
GRID_N_KEY = "grid_n"
GRID_SPACING_KEY = "grid_spacing"
GRID_RANGE_KEY = "grid_range"
MARKER_FOLLOWS_KEY = "marker_follows_sliders"
GRID_OVERLAY_KEY = "show_grid_on_map"
PRIOR_OVERLAY_KEY = "show_prior_on_map"
CLICK_KEY = "last_click"
SEEN_SELECTIONS_KEY = "seen_selections"
MAP_DRAWN_KEY = "map_drawn_state"
MODEL_DEFAULTS_FOR_KEY = "explorer_defaults_for"
DEFAULT_GRID_N = 20
PERSISTENT_WIDGET_KEYS = (*Z_SLIDER_KEYS, SAMPLE_TOGGLE_KEY, GRID_N_KEY, GRID_SPACING_KEY, GRID_RANGE_KEY,
                          MARKER_FOLLOWS_KEY, GRID_OVERLAY_KEY, PRIOR_OVERLAY_KEY)
GRID_PADDING = 2
DEFAULT_GRID_SPACING = "paper"
#: Default "linear" grid range of a VAE: the prior's +-3 sigma.
VAE_GRID_RANGE = (-3.0, 3.0)


@dataclass(frozen=True)
class ModelEntry:
    """The model chosen in the sidebar.

    Attributes:
        key: hashable identity for caches: ``file:<path>@<mtime_ns>`` or
            ``session:<name>@<unique id>``; changes whenever the weights can have
            changed, and differs between sessions that use the same name.
        label: what the user sees.
        checkpoint: the loaded checkpoint (model in eval mode).
    """

    key: str
    label: str
    checkpoint: Checkpoint


def init_session_state() -> None:
    """Set every session-state default this app uses, once per session."""
    st.session_state.setdefault(SESSION_MODELS_KEY, {})
    st.session_state.setdefault(SESSION_MODEL_IDS_KEY, {})  # name -> unique id (cache keys)
    st.session_state.setdefault(CURRENT_MODEL_KEY, None)
    st.session_state.setdefault(PENDING_CHOICE_KEY, None)  # see choose_session_model
    st.session_state.setdefault(TRAINING_JOB_KEY, None)  # this session's TrainingJob
    st.session_state.setdefault(UPLOADED_FILE_IDS_KEY, {})  # upload file_id -> model name
    for key in Z_SLIDER_KEYS:
        st.session_state.setdefault(key, 0.0)
    st.session_state.setdefault(SAMPLE_TOGGLE_KEY, False)
    st.session_state.setdefault(SAMPLE_SEED_KEY, 0)
    st.session_state.setdefault(GRID_N_KEY, DEFAULT_GRID_N)
    st.session_state.setdefault(GRID_SPACING_KEY, DEFAULT_GRID_SPACING)
    st.session_state.setdefault(GRID_RANGE_KEY, VAE_GRID_RANGE)
    st.session_state.setdefault(MARKER_FOLLOWS_KEY, False)
    st.session_state.setdefault(GRID_OVERLAY_KEY, False)
    st.session_state.setdefault(PRIOR_OVERLAY_KEY, False)
    # The last click on the map or grid: figures.PointClick | figures.SpaceClick | None.
    st.session_state.setdefault(CLICK_KEY, None)
    # Chart key -> signature of the last selection acted on (a selection persists
    # across reruns; only a new one moves the sliders).
    st.session_state.setdefault(SEEN_SELECTIONS_KEY, {})
    # What the latent map shows now: {"z": (z1, z2), "grid": (n, spacing, range) | None}.
    st.session_state.setdefault(MAP_DRAWN_KEY, {})
    st.session_state.setdefault(MODEL_DEFAULTS_FOR_KEY, None)
    # Streamlit drops a widget's value when a page without that widget (or with another
    # instance of it, on another page) runs; re-assigning makes it session state proper,
    # so the sliders and grid settings carry over between the Explorer and Manifold pages.
    for key in PERSISTENT_WIDGET_KEYS:
        st.session_state[key] = st.session_state[key]


@st.cache_resource(show_spinner="Loading the MNIST test split...")
def test_split() -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST test images (10000, 1, 28, 28) in [0, 1] and labels (10000,), shared by all sessions."""
    return load_split(train=False)


@st.cache_resource(show_spinner="Loading the MNIST training split...")
def train_split() -> tuple[torch.Tensor, dict]:
    """MNIST training images (60000, 1, 28, 28) in [0, 1] and the dataset's
    ``{"name", "sha256"}`` for checkpoints; one read-only copy shared by all sessions."""
    checksums = prepare_mnist()
    images, _ = load_split(train=True, verify=False)
    return images, {"name": DATASET_NAME, "sha256": checksums}


def add_session_model(name: str, checkpoint: Checkpoint) -> str:
    """Offer ``checkpoint`` in this session's model choice, on every page, at once.

    Args:
        name: wanted name; ``-2``, ``-3``, ... is appended if this session already
            has a model of that name (nothing is replaced).
        checkpoint: a loaded, validated checkpoint.

    Returns:
        The name it was stored under.
    """
    models = st.session_state[SESSION_MODELS_KEY]
    unique, n = name, 1
    while unique in models:
        n += 1
        unique = f"{name}-{n}"
    models[unique] = checkpoint
    # a per-model id in the cache key: two sessions (or uploads) may use the same name
    st.session_state[SESSION_MODEL_IDS_KEY][unique] = uuid.uuid4().hex
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
    st.session_state[SAVE_NAME_KEY] = f"{name}.pt"
    choose_session_model(name)
    return name


def add_uploaded_checkpoint(file_id: str, file_name: str, data: bytes) -> str:
    """Validate an uploaded checkpoint and offer it in the model choice (once per upload).

    Nothing in the file is executed (see :func:`explorer.checkpoints.load_checkpoint`).

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
    checkpoint = load_checkpoint(data)
    name = add_session_model(f"{Path(file_name).stem} (uploaded)", checkpoint)
    seen[file_id] = name
    choose_session_model(name)
    return name


def choose_session_model(name: str) -> None:
    """Make the session model ``name`` the sidebar choice from the next run on
    (applied by :func:`select_model` before it draws the choice)."""
    st.session_state[PENDING_CHOICE_KEY] = f"{SESSION_PREFIX}{name}"


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
        options[f"{SESSION_PREFIX}{name}"] = f"{name} (this session)"
    return options


def resolve_model(choice: str) -> ModelEntry:
    """Load the model behind a choice value from :func:`model_options`.

    Raises:
        CheckpointError: the file is not a usable checkpoint (or has disappeared).
        KeyError: a session model of that name does not exist.
    """
    if choice.startswith(SESSION_PREFIX):
        name = choice[len(SESSION_PREFIX) :]
        checkpoint = st.session_state[SESSION_MODELS_KEY][name]
        model_id = st.session_state.get(SESSION_MODEL_IDS_KEY, {}).get(name, id(checkpoint))
        return ModelEntry(f"{choice}@{model_id}", name, checkpoint)
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
    adopt_finished_training()
    options = model_options()
    if not options:
        st.sidebar.error(f"No checkpoints found in {CHECKPOINT_DIR}.")
        return
    pending = st.session_state.get(PENDING_CHOICE_KEY)
    if pending in options:
        st.session_state[MODEL_CHOICE_KEY] = pending
    st.session_state[PENDING_CHOICE_KEY] = None
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


def fit_state_to_model(entry: ModelEntry, ranges: tuple[LatentRange, LatentRange]) -> None:
    """Keep the explorer's slider values valid for the chosen model.

    Clamps (and snaps) the z sliders into ``ranges``; when the model changes, resets the
    grid to the model's default (VAE: "paper" spacing, linear range +-3, the prior's
    3 sigma; AE: "linear" over its codes' extent). Call before the widgets are created.
    """
    for key, r in zip(Z_SLIDER_KEYS, ranges):
        st.session_state[key] = r.snap(st.session_state.get(key, 0.0))
    if st.session_state.get(MODEL_DEFAULTS_FOR_KEY) != entry.key:
        st.session_state[MODEL_DEFAULTS_FOR_KEY] = entry.key
        st.session_state[GRID_RANGE_KEY] = grid_range_default(entry, ranges)
        # An AE has no prior: the paper's inverse-CDF grid (+-1.64) would cover a speck of
        # its code space, so it starts on a linear grid over its codes' extent.
        st.session_state[GRID_SPACING_KEY] = "paper" if entry.checkpoint.model_config.kind == "vae" else "linear"
    low, high = st.session_state[GRID_RANGE_KEY]
    bounds = grid_range_bounds(ranges)
    low, high = max(low, bounds.low), min(high, bounds.high)
    st.session_state[GRID_RANGE_KEY] = (low, high) if low < high else grid_range_default(entry, ranges)


def grid_range_bounds(ranges: tuple[LatentRange, LatentRange]) -> LatentRange:
    """Limits and step of the manifold grid's "linear" range slider: both axes' ranges."""
    return LatentRange(min(r.low for r in ranges), max(r.high for r in ranges), max(r.step for r in ranges))


def grid_range_default(entry: ModelEntry, ranges: tuple[LatentRange, LatentRange]) -> tuple[float, float]:
    """Default "linear" grid range: the prior's +-3 sigma for a VAE, the codes' extent for an AE."""
    if entry.checkpoint.model_config.kind == "vae":
        return VAE_GRID_RANGE
    bounds = grid_range_bounds(ranges)
    return bounds.low, bounds.high


def new_selection(chart_key: str) -> list[dict] | None:
    """The points of chart ``chart_key``'s selection if it changed since last asked, else None.

    A Plotly selection stays in session state across reruns; this reports each one once.
    """
    state = st.session_state.get(chart_key)
    try:
        points = list(state.selection.points)
    except AttributeError:
        return None
    signature = tuple((p.get("curve_number"), p.get("point_index"), p.get("x"), p.get("y")) for p in points)
    seen = st.session_state[SEEN_SELECTIONS_KEY]
    if seen.get(chart_key) == signature:
        return None
    seen[chart_key] = signature
    return points


@st.cache_data(show_spinner=False, max_entries=64)
def manifold_png(key: str, _model: torch.nn.Module, n: int, spacing: str, low: float, high: float) -> bytes:
    """The decoded manifold grid (``latent.decode_manifold``) as PNG bytes.

    ``key`` identifies the model's weights (``_model`` is not hashed).
    """
    coords = manifold_coordinates(n, spacing, low, high)
    return png_bytes(decode_manifold(_model, manifold_z(coords), padding=GRID_PADDING))


@st.cache_data(show_spinner=False, max_entries=8)
def encodings_csv(key: str, _encodings: Encodings) -> bytes:
    """The test-set mu, sigma and labels as CSV bytes (``latent.encodings_table``)."""
    return encodings_table(_encodings).to_csv(index=False).encode()
