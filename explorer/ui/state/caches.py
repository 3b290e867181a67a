"""Streamlit caches, the only module with ``st.cache_*``: MNIST splits and checkpoint files
(``st.cache_resource``, shared by every session), encodings, grid images, CSV exports, the
model-kind pages' measurements, the browser's decoder and grid payloads and the linear AE's
comparison with PCA (``st.cache_data``). A model's caches take its
:class:`~explorer.ui.state.model_entry.ModelEntry` itself, hashed by its ``key`` alone
(:data:`BY_ENTRY_KEY`: the key identifies the weights, the model is never hashed), so no
caller can pair a key with another model; files are keyed by path and modification time."""

from __future__ import annotations

import json
import math

import numpy as np
import streamlit as st
import torch

from explorer.core.checkpoint_summary import CheckpointSummary, read_summary
from explorer.core.checkpoints import Checkpoint, load_checkpoint
from explorer.core.classifier import DEFAULT_PATH as CLASSIFIER_PATH
from explorer.core.classifier import TrainedClassifier, load_classifier
from explorer.core import encoding_cache
from explorer.core.data import DATASET_NAME, load_split, prepare_mnist
from explorer.core.export import export_decoder, pack_decoder, unpack_decoder
from explorer.core.model_kinds import error_curve
from explorer.core.images import png_bytes, upscale_nearest
from explorer.core.latent import Encodings, encodings_table
from explorer.core.manifold import decode_manifold
from explorer.core.metrics import LatentUsage, latent_usage
from explorer.core.pca import compare_with_pca, linear_decoder_columns, pca, principal_angles
from explorer.ui.components.browser_grid import grid_pixels, pack_grid
from explorer.ui.state.model_entry import ModelEntry

#: Pixels between the manifold grid's cells.
GRID_PADDING = 2
#: Streamlit's ``hash_funcs`` of every cache of a model: an entry is hashed by its key alone,
#: which identifies the model's weights (:attr:`ModelEntry.key`); its model is never hashed.
BY_ENTRY_KEY = {ModelEntry: lambda entry: entry.key}


@st.cache_resource(show_spinner="Loading the MNIST test split...")
def mnist_test_split() -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST test images (10000, 1, 28, 28) in [0, 1] and labels (10000,), shared by all sessions."""
    return load_split(train=False)


@st.cache_resource(show_spinner="Loading the MNIST training split...")
def train_split() -> tuple[torch.Tensor, torch.Tensor, dict]:
    """MNIST training images (60000, 1, 28, 28) in [0, 1], labels (60000,) and the
    dataset's ``{"name", "sha256"}`` for checkpoints; one read-only copy for all sessions."""
    checksums = prepare_mnist()
    images, labels = load_split(train=True, verify=False)
    return images, labels, {"name": DATASET_NAME, "sha256": checksums}


@st.cache_resource(show_spinner="Loading and checking the checkpoint...", max_entries=16)
def checkpoint_file(path: str, mtime_ns: int) -> Checkpoint:
    """A checkpoint file, loaded once per (path, modification time); a file not shipped
    with the app has its metrics recomputed on the test split (seconds).

    Raises:
        CheckpointError: not a usable checkpoint.
    """
    return load_checkpoint(path, test_split=mnist_test_split)


@st.cache_data(show_spinner=False, max_entries=256)
def checkpoint_summary(path: str, mtime_ns: int, size: int) -> CheckpointSummary | None:
    """A checkpoint file's header (:func:`explorer.core.checkpoint_summary.read_summary`),
    read once per (path, modification time, size) for all sessions: the model choices name
    every file on every run."""
    return read_summary(path)


@st.cache_data(show_spinner="Encoding the 10,000 test digits...", max_entries=32, hash_funcs=BY_ENTRY_KEY)
def mnist_test_encodings(entry: ModelEntry) -> Encodings:
    """Encodings of the MNIST test split under ``entry``'s model. Read from the disk
    cache (``encoding_cache``, keyed by the weights' and the test files' SHA-256) when an
    earlier server computed them: a fresh server then draws its map without loading the
    test images. The data files are verified either way (``prepare_mnist``).

    Raises:
        DataError: an MNIST file is missing or corrupt.
    """
    return encoding_cache.cached_encodings(entry.model, prepare_mnist(), mnist_test_split)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_ENTRY_KEY)
def manifold_png(entry: ModelEntry, z: np.ndarray, y: int | None = None) -> bytes:
    """The manifold grid of codes ``z`` decoded by ``entry``'s model (``manifold.decode_manifold``,
    label ``y`` for a conditional model) as PNG bytes."""
    return png_bytes(decode_manifold(entry.model, z, padding=GRID_PADDING, y=y))


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=BY_ENTRY_KEY)
def encodings_csv(entry: ModelEntry) -> bytes:
    """The test-set mu, sigma and labels under ``entry``'s model (:func:`mnist_test_encodings`)
    as CSV bytes (``latent.encodings_table``)."""
    return encodings_table(mnist_test_encodings(entry)).to_csv(index=False).encode()


@st.cache_resource(show_spinner="Loading the digit classifier...")
def digit_classifier(path: str = str(CLASSIFIER_PATH)) -> TrainedClassifier:
    """The shipped MNIST classifier that scores digit-likeness, loaded once for all sessions.

    Raises:
        ClassifierFileError: the file is missing or invalid.
    """
    return load_classifier(path)


@st.cache_resource(show_spinner="Building the real-digit judge (once per server)...")
def realism_judge():
    """The validated "looks like a real digit" judge (:func:`explorer.core.realism.build_judge`),
    built once for all sessions from the shipped classifier and the training split.

    Raises:
        ClassifierFileError: the classifier file is missing or invalid.
    """
    from explorer.core.realism import build_judge

    return build_judge(digit_classifier().model, train_split()[0])


@st.cache_data(show_spinner="Measuring the lesson's numbers on this model...",
               max_entries=32, hash_funcs=BY_ENTRY_KEY)
def lesson_facts(entry: ModelEntry):
    """:func:`explorer.core.lesson_claims.model_facts` of ``entry``'s model, named by its label
    (its test codes, samples, paths and cloud judged by :func:`realism_judge`)."""
    from explorer.core.lesson_claims import model_facts

    encodings = mnist_test_encodings(entry)
    return model_facts(entry.model, entry.label, encodings.mu, encodings.logvar, realism_judge(), encodings.labels)


#: Grid points per axis of the holes shading: 16 x 16 = 256 decodings judged, contoured
#: between them by the chart (24 x 24 took about 1 s on the 2-core server, 16 x 16 about a
#: third of that with the classifier's inference copy: ``python -m bench.realism``).
HOLES_GRID_N = 16


@st.cache_data(show_spinner="Judging the decoder's images over the map...", max_entries=32, hash_funcs=BY_ENTRY_KEY)
def hole_scores(entry: ModelEntry, ranges: tuple[tuple[float, float], tuple[float, float]],
                n: int = HOLES_GRID_N, y: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``holes.score_grid`` of ``entry``'s model over ``ranges`` ((low, high) per axis),
    judged by :func:`realism_judge`: (z1 (n,), z2 (n,), S (n, n)), S >= 0 (real from
    :data:`explorer.core.realism.THRESHOLD` up)."""
    from explorer.core.holes import score_grid

    return score_grid(entry.model, realism_judge(), ranges, n, y=y)


@st.cache_data(show_spinner="Sampling the prior...", max_entries=32, hash_funcs=BY_ENTRY_KEY)
def prior_share(entry: ModelEntry, y: int | None = None) -> float:
    """The share in [0, 1] of N(0, I) samples judged real by :func:`realism_judge` for
    ``entry``'s model (a conditional model's samples decoded with label ``y``):
    :func:`explorer.core.lesson_claims.sample_judgement` with the lesson's sample size and
    seed, so it is the very number the lesson's claims and the Sample tab show."""
    from explorer.core.lesson_claims import sample_judgement

    mu = mnist_test_encodings(entry).mu
    return sample_judgement(entry.model, realism_judge(), "prior", mu, y=y)[0]


# --- the model-kind pages (denoising, latent size, contractive) -----------------------

#: Test images the denoising curve averages over (the first of a seeded permutation).
CURVE_IMAGES = 1000


@st.cache_data(show_spinner="Scoring 1,000 test digits at each noise level...",
               max_entries=16, hash_funcs=BY_ENTRY_KEY)
def denoising_curve(entry: ModelEntry, noise: str, levels: tuple[float, ...],
                    seed: int = 0, n: int = CURVE_IMAGES) -> np.ndarray:
    """``model_kinds.error_curve`` of ``entry``'s model on ``n`` test images
    (a permutation seeded by ``seed``; the noise is seeded by it too): (len(levels),) nats."""
    images, _ = mnist_test_split()
    rows = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]
    return error_curve(entry.model, images[rows], noise, levels, seed=seed)


@st.cache_data(show_spinner="Measuring KL per latent dimension on the test set...",
               max_entries=16, hash_funcs=BY_ENTRY_KEY)
def mnist_test_latent_usage(entry: ModelEntry) -> LatentUsage:
    """``metrics.latent_usage`` of ``entry``'s model on the 10,000 test digits
    (conditional on the true labels for a conditional model)."""
    images, labels = mnist_test_split()
    return latent_usage(entry.model, images, labels)


@st.cache_data(show_spinner="Measuring how far the codes move (10,000 test digits)...",
               max_entries=16, hash_funcs=BY_ENTRY_KEY)
def contraction_numbers(entry: ModelEntry, noise_level: float, seed: int = 0) -> dict[str, float]:
    """``contractive.contraction_summary`` of ``entry``'s model on the 10,000
    test digits (its code: mu), Gaussian perturbation of std ``noise_level`` seeded by ``seed``."""
    from explorer.core.contractive import contraction_summary

    images, _ = mnist_test_split()
    return contraction_summary(lambda x: entry.model.encode(x)[0], images, noise_level, seed)


# --- the browser's payloads (explorer.ui.components.browser_decoder, explorer.ui.components.browser_grid) ---


@st.cache_resource(show_spinner=False, max_entries=16, hash_funcs=BY_ENTRY_KEY)
def decoder_payload(entry: ModelEntry) -> tuple[bytes, str] | None:
    """The packed decoder of ``entry``'s model and its id, or None when the browser cannot
    run it. One bytes object per model, so its element's message is the same on every run."""
    exported = export_decoder(entry.model)
    if exported is None:
        return None
    payload = pack_decoder(exported)
    return payload, unpack_decoder(payload)["id"]


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_ENTRY_KEY)
def grid_payload(entry: ModelEntry, z: np.ndarray, y: int | None, description: str) -> bytes:
    """:func:`explorer.ui.components.browser_grid.pack_grid` of ``entry``'s model at codes ``z``
    (label ``y`` for a conditional model); ``description`` is the JSON of
    :func:`explorer.ui.components.browser_grid.describe`."""
    return pack_grid(json.loads(description), grid_pixels(entry.model, z, y))


# --- the Linear AE = PCA page ---------------------------------------------------------


@st.cache_data(show_spinner="Fitting PCA to the 10,000 test digits...", max_entries=4)
def linear_pca_comparison(path: str, mtime_ns: int):
    """The Linear AE = PCA page's numbers for the linear AE file at ``path`` (cached per
    file version, ``mtime_ns``): (codes mapped onto the PCA codes, PCA codes, labels,
    angles to the training set's and the test set's top-2 PCA planes, mean squared
    errors, nats per image or None, decoder description, the map's (residual, spread,
    relative residual), mean RMS pixel gap between the two reconstructions)."""
    checkpoint = checkpoint_file(path, mtime_ns)
    images, labels = mnist_test_split()
    result = compare_with_pca(checkpoint.model, images)
    train_images = train_split()[0]
    train_angles = principal_angles(linear_decoder_columns(checkpoint.model), pca(train_images, 2).components)
    likelihood = checkpoint.model.likelihood
    nats = None
    if likelihood.name == "gaussian_identity":  # -log N(x; mean, s^2 I) = SE / (2 s^2) + D log(s sqrt(2 pi))
        constant = images[0].numel() * (math.log(likelihood.std) + 0.5 * math.log(2 * math.pi))
        nats = tuple(float(e.mean()) / (2 * likelihood.std**2) + constant
                     for e in (result.ae_squared_error, result.pca_squared_error))
    fit = result.fit
    return (fit.mapped.numpy(), result.pca_codes.numpy(), labels.numpy(), train_angles.tolist(),
            result.angles.tolist(),
            float(result.ae_squared_error.mean()), float(result.pca_squared_error.mean()), nats,
            likelihood.description, (fit.residual_rms, fit.spread_rms, fit.relative_residual),
            float(result.reconstruction_gap.mean()))


# --- the stacked (denoising) autoencoders on the Denoising AE page --------------------------

#: The shipped pretrained stacks (explorer.cli.pretrain --out), in checkpoints/PRETRAINING_DIR,
#: by masking fraction, and the file of their runs' JSON lines.
PRETRAINING_DIR = "pretraining"
STACK_FILES = {0.0: "sae_500_500.safetensors", 0.25: "sdae25_500_500.safetensors", 0.5: "sdae50_500_500.safetensors"}
RESULTS_FILE = "results.jsonl"
#: Filters shown per model (of the first layer's 500).
SHOWN_FILTERS = 100


@st.cache_data(show_spinner="Reading the pretrained stacks' first-layer filters...", max_entries=4)
def stack_filters(folder: str, mtimes: tuple[float, ...]) -> dict:
    """The shipped stacks' first-layer filters and their sharpness, and the runs' test errors.

    Args:
        folder: the folder holding :data:`STACK_FILES` and :data:`RESULTS_FILE`.
        mtimes: the files' modification times (the cache key: a replaced file is read again).

    Returns:
        ``{"stacks": {noise: {"png": bytes, "shown": kurtosis of the shown filters, "all":
        kurtosis of all filters, "config": StackConfig}}, "initial": kurtosis of the first
        layer's initial weights (the stacks' seed: where pretraining, or the run without it,
        started), "runs": [run dicts]}``.

    Raises:
        StackFileError: a file is missing or invalid.
    """
    from pathlib import Path

    from explorer.core.pretraining import build_stack
    from explorer.core.stack_files import load_stack, read_results
    from explorer.core.stack_filters import filter_grid, filter_sharpness, first_layer_filters

    stacks = {}
    config = None
    for noise, name in STACK_FILES.items():
        net, config, _ = load_stack(Path(folder) / name)
        shown = first_layer_filters(net, SHOWN_FILTERS)
        stacks[noise] = {"png": png_bytes(upscale_nearest(filter_grid(shown), 2)), "shown": filter_sharpness(shown),
                         "all": filter_sharpness(first_layer_filters(net)), "config": config}
    initial = filter_sharpness(first_layer_filters(build_stack(config)))
    return {"stacks": stacks, "initial": initial, "runs": read_results(Path(folder) / RESULTS_FILE)}


# --- the Semi-supervised (M2) page ---------------------------------------------------------

#: Test digits whose class-swap rows the shipped classifier judges for the page's agreement share.
SWAP_JUDGED = 500


@st.cache_data(show_spinner="Classifying the 10,000 test digits with q(y|x)...",
               max_entries=8, hash_funcs=BY_ENTRY_KEY)
def m2_confusion(entry: ModelEntry) -> np.ndarray:
    """(10, 10) int64 confusion matrix of ``entry``'s M2 / M1+M2 model on the
    10,000 test digits (row: true label, column: argmax_y q(y|x); ``semi_supervised.confusion_matrix``)."""
    from explorer.core.semi_supervised import confusion_matrix, predictions

    images, labels = mnist_test_split()
    model = entry.model
    return confusion_matrix(predictions(model, images), labels, model.config.num_classes).numpy()


@st.cache_data(show_spinner="Decoding the test digits' styles with every label...",
               max_entries=32, hash_funcs=BY_ENTRY_KEY)
def m2_class_swap(entry: ModelEntry, rows: tuple[int, ...]) -> torch.Tensor:
    """``semi_supervised.class_swap`` of the test digits ``rows`` (their true labels) under
    ``entry``'s model: (len(rows) * 10, 1, 28, 28) pixels in [0, 1]."""
    from explorer.core.semi_supervised import class_swap

    images, labels = mnist_test_split()
    index = torch.tensor(rows, dtype=torch.long)
    return class_swap(entry.model, images[index], labels[index])


@st.cache_data(show_spinner="Asking the digit classifier which digit each swapped image shows...",
               max_entries=8, hash_funcs=BY_ENTRY_KEY)
def m2_swap_agreement(entry: ModelEntry, n: int = SWAP_JUDGED) -> tuple[float, np.ndarray]:
    """How often the shipped digit classifier reads the label y an image of ``entry``'s
    class-swap grid was decoded with, over the first ``n`` test digits x 10 labels: (share in
    [0, 1], (10,) share per label y)."""
    from explorer.core.semi_supervised import class_swap, swap_columns

    model = entry.model
    images, labels = mnist_test_split()
    swapped = class_swap(model, images[:n], labels[:n])
    columns = swap_columns(n, model.config.num_classes)
    hits = digit_classifier().model.probabilities(swapped).argmax(dim=1) == columns
    per_label = torch.zeros(model.config.num_classes).index_add_(0, columns, hits.float()) / n
    return float(hits.float().mean()), per_label.numpy()


@st.cache_data(show_spinner="Encoding the test digits' styles with q(z|x, y)...",
               max_entries=8, hash_funcs=BY_ENTRY_KEY)
def m2_style_map(entry: ModelEntry, labels: int | None, seed: int) -> dict[str, np.ndarray | float]:
    """The style map of ``entry``'s M2 / M1+M2 model
    (``semi_supervised.style_codes``): ``z`` (10000, latent_dim), the mean of q(z|x, y) of
    each test digit with y = ``predicted`` (10000,), argmax_y q(y|x); ``agreement`` and
    ``chance`` (``semi_supervised.neighbour_agreement`` of z and the predicted labels); and
    the training images whose labels the run read (``--labels labels --seed seed``, the
    whole training split): ``marked_rows``, ``marked_z`` (their z under their known label),
    ``marked_labels``, ``marked_predicted``; empty when ``labels`` is None."""
    from explorer.core.semi_supervised import labelled_rows, neighbour_agreement, predictions, style_codes

    model = entry.model
    images, _ = mnist_test_split()
    predicted = predictions(model, images)
    z = style_codes(model, images)
    agreement, chance = neighbour_agreement(z, predicted)
    found = {"z": z.numpy(), "predicted": predicted.numpy(), "agreement": agreement, "chance": chance,
             "marked_rows": np.zeros(0, np.int64), "marked_z": np.zeros((0, z.shape[1]), np.float32),
             "marked_labels": np.zeros(0, np.int64), "marked_predicted": np.zeros(0, np.int64)}
    if labels is None:
        return found
    train_images, train_labels, _ = train_split()
    rows = labelled_rows(train_labels, labels, seed, model.config.num_classes)
    known = train_labels[rows]
    return {**found, "marked_rows": rows.numpy(), "marked_z": style_codes(model, train_images[rows], known).numpy(),
            "marked_labels": known.numpy(), "marked_predicted": predictions(model, train_images[rows]).numpy()}


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=BY_ENTRY_KEY)
def map_label_agreement(entry: ModelEntry) -> tuple[float, float]:
    """``semi_supervised.neighbour_agreement`` of the test codes mu of ``entry``'s
    autoencoder and the true labels: (share whose nearest code has the same digit,
    chance), a reference for the style map."""
    from explorer.core.semi_supervised import neighbour_agreement

    encodings = mnist_test_encodings(entry)
    return neighbour_agreement(torch.as_tensor(encodings.mu), torch.as_tensor(encodings.labels))
