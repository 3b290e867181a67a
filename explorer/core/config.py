"""Model and training configurations: everything needed to rebuild a model or a run.

Both are frozen dataclasses stored as plain dicts inside every checkpoint (nanoGPT's
``model_args``): ``build_model(ModelConfig.from_dict(d))`` rebuilds the network. This
module imports nothing else from the project, so the models, the trainer and the
checkpoints all depend on it and never on each other's modules.

The model family is listed once, in :data:`MODEL_KINDS`; the classes behind the kinds
live in :mod:`explorer.core.models` (one file per family, pythae's layout).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Literal

#: Model families (see :mod:`explorer.core.models`): plain autoencoder, variational
#: autoencoder (Kingma & Welling 2013), conditional VAE (Kingma et al. 2014, M2 with labels),
#: contractive AE and its stochastic form (Rifai et al. 2011: CAE, SCAE), semi-supervised
#: M2 (Kingma et al. 2014: the conditional VAE plus a classifier q(y|x), trained with some
#: labels unknown).
MODEL_KINDS = ("ae", "vae", "cvae", "cae", "scae", "m2")
#: Encoder/decoder network types (see :mod:`explorer.core.networks`): fully connected
#: (``hidden_sizes`` wide, mirrored) or convolutional (Conv2D 32, 64 stride 2, 64, 64,
#: dense ``hidden_sizes``; decoder Dense, ConvTranspose2D 32 stride 2, Conv2D 1: the Keras
#: network of Chollet 2017, kept as a faithful replica) or strided convolutional (Conv2D 16,
#: 32, 4x4 stride 2, dense ``hidden_sizes``, mirrored by the decoder with ConvTranspose2D).
ARCHITECTURES = ("mlp", "conv", "strided_conv")
#: ``hidden_sizes`` each architecture is used with when none are given (the command line's
#: ``--hidden`` default): the MLP's 512-256, the Keras replica's Dense 32, and the strided
#: network's one dense layer of 256 (chosen by a timing on 2 CPU cores and the 60 MB
#: budget of the shipped checkpoints; see docs/benchmarks-literature.md).
DEFAULT_HIDDEN_SIZES = {"mlp": (512, 256), "conv": (32,), "strided_conv": (256,)}
#: Decoder distributions p(x|z) (see :mod:`explorer.core.likelihoods`): Bernoulli,
#: Gaussian with mean sigmoid(output), Gaussian with mean = the output itself (identity
#: link, for a linear autoencoder).
#: The continuous Bernoulli (Loaiza-Ganem & Cunningham 2019) is the Bernoulli normalised
#: as a density on [0, 1], for grey-level pixels.
LIKELIHOODS = ("bernoulli", "gaussian", "gaussian_identity", "continuous_bernoulli")
#: Input corruptions the trainer can apply while keeping the clean target (denoising AE,
#: Vincent et al. 2008): none, masking noise (each pixel set to 0 with probability
#: ``noise_level``) or additive Gaussian noise (std ``noise_level``, clipped to [0, 1]).
INPUT_NOISES = ("none", "masking", "gaussian")
LR_SCHEDULES = ("constant", "cosine")
#: Training images as given (grey levels) or dynamically binarized: every time an image is
#: used, each pixel is drawn from Bernoulli(grey level) (the protocol of published MNIST tables).
BINARIZATIONS = ("none", "dynamic")
#: MNIST's image shape (channels, height, width) and number of classes.
IMAGE_SHAPE = (1, 28, 28)
NUM_CLASSES = 10

ModelKind = Literal["ae", "vae", "cvae", "cae", "scae", "m2"]
Architecture = Literal["mlp", "conv", "strided_conv"]
LikelihoodName = Literal["bernoulli", "gaussian", "gaussian_identity", "continuous_bernoulli"]
InputNoise = Literal["none", "masking", "gaussian"]
LRSchedule = Literal["constant", "cosine"]


#: Most hidden layers a network may have (a config is refused beyond it before anything is built).
MAX_HIDDEN_LAYERS = 16


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_sha256(value) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _is_int_list(value) -> bool:
    return isinstance(value, (list, tuple)) and all(_is_int(v) for v in value)


#: field -> (type check, what it must be): the types :meth:`from_dict` accepts from a file.
_FIELD_TYPES = {
    "kind": (lambda v: isinstance(v, str), "a string"),
    "architecture": (lambda v: isinstance(v, str), "a string"),
    "likelihood": (lambda v: isinstance(v, str), "a string"),
    "lr_schedule": (lambda v: isinstance(v, str), "a string"),
    "input_noise": (lambda v: isinstance(v, str), "a string"),
    "latent_dim": (_is_int, "an integer"),
    "num_classes": (_is_int, "an integer"),
    "epochs": (_is_int, "an integer"),
    "batch_size": (_is_int, "an integer"),
    "seed": (_is_int, "an integer"),
    "subset": (lambda v: v is None or _is_int(v), "an integer or null"),
    "labels": (lambda v: v is None or _is_int(v), "an integer or null"),
    "alpha_fraction": (_is_number, "a number"),
    "hidden_sizes": (lambda v: _is_int_list(v) and len(v) <= MAX_HIDDEN_LAYERS,
                     f"a list of at most {MAX_HIDDEN_LAYERS} integers"),
    "image_shape": (lambda v: _is_int_list(v) and len(v) == 3, "a list of 3 integers"),
    "decoder_std": (_is_number, "a number"),
    "beta": (_is_number, "a number"),
    "lr": (_is_number, "a number"),
    "noise_level": (_is_number, "a number"),
    "iw_samples": (_is_int, "an integer"),
    "binarize": (lambda v: isinstance(v, str), "a string"),
    "contraction": (_is_number, "a number"),
    "contraction_noise": (_is_number, "a number"),
    "m1": (lambda v: v is None or (isinstance(v, str) and 0 < len(v) <= 500), "a path of at most 500 characters or null"),
    "m1_sha256": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "m1_latent_dim": (lambda v: v is None or _is_int(v), "an integer or null"),
}


def _from_dict(cls, data: dict, what: str):
    """``cls(**data)`` from untrusted data (a checkpoint file): refuses keys that are not
    fields of ``cls`` and values of the wrong type (an integer field must hold an int, not
    2.0, a bool or a tensor) before any value check runs.

    Raises:
        ValueError: ``data`` is not a dict, has unknown keys, or values of the wrong type
            or out of their domain (the message names the field).
    """
    if not isinstance(data, dict):
        raise ValueError(f"{what} config must be a dict, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = [k for k in data if k not in names]
    if unknown:
        raise ValueError(f"unknown {what} config keys: {sorted(map(repr, unknown))[:10]}")
    for name, value in data.items():
        check, wanted = _FIELD_TYPES[name]
        if not check(value):
            raise ValueError(f"{what} config field {name!r} must be {wanted}, got {type(value).__name__}")
    return cls(**data)


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; stored inside every checkpoint.

    Attributes:
        kind: model family, one of :data:`MODEL_KINDS`.
        latent_dim: size of z.
        hidden_sizes: widths of the encoder's hidden layers, the decoder mirrors them;
            empty gives one linear layer each way (a linear encoder and decoder). For
            ``architecture="conv"``: the encoder's dense widths after the convolutions
            (reference network ``(32,)``); its decoder does not mirror them.
        likelihood: decoder p(x|z): ``"bernoulli"`` (binary cross-entropy),
            ``"gaussian"`` (squared error, mean sigmoid(output), fixed standard deviation
            ``decoder_std``) or ``"gaussian_identity"`` (the same with mean = the output
            itself, unbounded: with ``hidden_sizes=()`` a linear autoencoder).
        decoder_std: standard deviation of both Gaussian decoders, pixels in [0, 1].
        beta: weight of the KL term in the training loss (1.0 is the true ELBO;
            Higgins et al. 2017 call beta > 1 a beta-VAE); unused by models without a KL.
        architecture: encoder/decoder network type, one of :data:`ARCHITECTURES`
            (files written before the field existed hold MLPs: a missing key is ``"mlp"``).
        image_shape: (channels, height, width) of the images.
        num_classes: number of labels y a conditional model takes (unused otherwise).
        contraction: lambda, the weight of the contraction penalty in the training loss of
            a contractive AE (``"cae"``: lambda * ||J_h(x)||_F^2; ``"scae"``: lambda *
            E ||h(x) - h(x~)||^2, Rifai et al. 2011, which for small sigma is about
            lambda * sigma^2 * ||J_h(x)||_F^2); unused otherwise.
        contraction_noise: standard deviation sigma of the SCAE's Gaussian corruption x~ =
            x + sigma * eps (pixel units); unused otherwise.
        m1: M1+M2 (Kingma et al. 2014, Sec. 3.2) only: the checkpoint of the M1 VAE whose
            codes (its encoder's mu) the M2 model reads instead of the pixels, as a path
            (relative to the working folder or the project, or a file name in
            ``checkpoints/``); its encoder, not its weights, is part of the model
            (:func:`explorer.core.checkpoints.load_m1`). None: plain M2 on pixels.
        m1_sha256: SHA-256 of that file's bytes, checked whenever the model is loaded.
        m1_latent_dim: the M1's latent size, the length of the codes M2's networks read.

    Raises:
        ValueError: any value out of its domain (message names the field).
    """

    kind: ModelKind = "vae"
    latent_dim: int = 2
    hidden_sizes: tuple[int, ...] = DEFAULT_HIDDEN_SIZES["mlp"]
    likelihood: LikelihoodName = "bernoulli"
    decoder_std: float = 0.1
    beta: float = 1.0
    architecture: Architecture = "mlp"
    image_shape: tuple[int, int, int] = IMAGE_SHAPE
    num_classes: int = NUM_CLASSES
    contraction: float = 0.01
    contraction_noise: float = 0.1
    m1: str | None = None
    m1_sha256: str | None = None
    m1_latent_dim: int | None = None

    def __post_init__(self) -> None:
        # Checkpoints store tuples as lists; normalise so configs compare equal.
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind must be one of {list(MODEL_KINDS)}, got {self.kind!r}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {list(ARCHITECTURES)}, got {self.architecture!r}")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {list(LIKELIHOODS)}, got {self.likelihood!r}")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {self.latent_dim}")
        if len(self.hidden_sizes) > MAX_HIDDEN_LAYERS:
            raise ValueError(f"hidden_sizes may have at most {MAX_HIDDEN_LAYERS} layers, got {len(self.hidden_sizes)}")
        if self.hidden_sizes and min(self.hidden_sizes) < 1:
            raise ValueError(f"hidden_sizes must be positive widths, got {self.hidden_sizes}")
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ValueError(f"image_shape must be (channels, height, width) > 0, got {self.image_shape}")
        if self.num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {self.num_classes}")
        if not (self.beta >= 0 and math.isfinite(self.beta)):
            raise ValueError(f"beta must be finite and >= 0, got {self.beta}")
        if not (self.decoder_std > 0 and math.isfinite(self.decoder_std)):
            raise ValueError(f"decoder_std must be finite and > 0, got {self.decoder_std}")
        if not (self.contraction >= 0 and math.isfinite(self.contraction)):
            raise ValueError(f"contraction (lambda) must be finite and >= 0, got {self.contraction}")
        if not (self.contraction_noise > 0 and math.isfinite(self.contraction_noise)):
            raise ValueError(f"contraction_noise must be finite and > 0, got {self.contraction_noise}")
        if self.m1 is not None or self.m1_sha256 is not None or self.m1_latent_dim is not None:
            if self.kind != "m2":
                raise ValueError(f"m1 (the M1 VAE under an M1+M2 model) needs kind 'm2', got {self.kind!r}")
            if (self.m1 is None or not _is_sha256(self.m1_sha256) or self.m1_latent_dim is None
                    or not 1 <= self.m1_latent_dim <= 4096):
                raise ValueError("m1, m1_sha256 (64 hex digits) and m1_latent_dim (1 to 4096) go together")
            if self.likelihood not in ("gaussian", "gaussian_identity"):
                raise ValueError(f"M1+M2 models the M1 codes with a Gaussian likelihood (gaussian_identity), "
                                 f"not {self.likelihood!r}")

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """Rebuild from :meth:`to_dict` output (keys missing from older files take defaults).

        Raises:
            ValueError: unknown keys or invalid values.
        """
        return _from_dict(cls, data, "model")

    def to_dict(self) -> dict:
        """Plain-dict form (lists and scalars only) for checkpoints (the M1 keys only for M1+M2)."""
        d = asdict(self)
        if self.m1 is None:
            del d["m1"], d["m1_sha256"], d["m1_latent_dim"]
        d["hidden_sizes"] = list(self.hidden_sizes)
        d["image_shape"] = list(self.image_shape)
        return d

    @property
    def num_pixels(self) -> int:
        """Number of pixels (values) in one image, 784 for MNIST."""
        return math.prod(self.image_shape)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; stored inside every checkpoint.

    Attributes:
        epochs: passes over the (subset of the) training split.
        batch_size: images per Adam step.
        lr: Adam learning rate (peak rate for the cosine schedule).
        lr_schedule: ``"constant"`` or ``"cosine"`` (decay to 0 over all steps,
            Loshchilov & Hutter 2017, without restarts).
        seed: seeds the initial weights, the epoch permutations, the subset, the input
            noise and the reparameterization noise.
        subset: train on this many randomly chosen training images (None: all 60,000).
        input_noise: corruption of the training input, one of :data:`INPUT_NOISES`; the
            loss still compares the reconstruction with the clean image (denoising AE).
        noise_level: masking probability, or the Gaussian noise's standard deviation
            (pixels in [0, 1]).
        iw_samples: k of the importance-weighted bound trained on (Burda et al. 2015, Eq. 8);
            1 trains the ELBO. Needs a variational model and beta = 1.
        binarize: ``"none"`` (grey levels) or ``"dynamic"`` (a fresh Bernoulli(grey) draw of
            every training image each time it is used), one of :data:`BINARIZATIONS`.
        labels: for a semi-supervised model (M2, Kingma et al. 2014): how many training
            labels are known, chosen balanced over the classes and seeded by ``seed``
            (:func:`explorer.core.labels.select_labels`; 100 gives 10 per digit), the rest
            of the images train unlabelled. None: every label is known. Unused by other models.
        alpha_fraction: for a semi-supervised model: alpha / N, where alpha weighs the
            classification loss -log q(y|x) on the known labels in J^alpha (Kingma et al. 2014,
            Eq. 9) and N is the number of training images; the paper's 0.1 (Sec. 3.1.1). 0: the
            classifier learns from the bounds alone. Unused by other models.

    Raises:
        ValueError: any value out of its domain (message names the field).
    """

    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: LRSchedule = "constant"
    seed: int = 0
    subset: int | None = None
    input_noise: InputNoise = "none"
    noise_level: float = 0.5
    iw_samples: int = 1
    binarize: str = "none"
    labels: int | None = None
    alpha_fraction: float = 0.1

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be finite and > 0, got {self.lr}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {list(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.subset is not None and self.subset < 1:
            raise ValueError(f"subset must be >= 1 or None, got {self.subset}")
        if self.labels is not None and self.labels < 1:
            raise ValueError(f"labels must be >= 1 or None (every label known), got {self.labels}")
        if not (self.alpha_fraction >= 0 and math.isfinite(self.alpha_fraction)):
            raise ValueError(f"alpha_fraction must be finite and >= 0, got {self.alpha_fraction}")
        if self.input_noise not in INPUT_NOISES:
            raise ValueError(f"input_noise must be one of {list(INPUT_NOISES)}, got {self.input_noise!r}")
        limit = 1.0 if self.input_noise == "masking" else math.inf
        if not (0 <= self.noise_level <= limit and math.isfinite(self.noise_level)):
            raise ValueError(f"noise_level must be in [0, {limit:g}] for {self.input_noise} noise, "
                             f"got {self.noise_level}")
        if self.iw_samples < 1:
            raise ValueError(f"iw_samples must be >= 1 (1: the ELBO), got {self.iw_samples}")
        if self.binarize not in BINARIZATIONS:
            raise ValueError(f"binarize must be one of {list(BINARIZATIONS)}, got {self.binarize!r}")

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Rebuild from ``asdict`` output (keys missing from older files take defaults).

        Raises:
            ValueError: unknown keys or invalid values.
        """
        return _from_dict(cls, data, "train")

    def to_dict(self) -> dict:
        """Plain-dict form for checkpoints."""
        return asdict(self)
