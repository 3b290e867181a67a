"""The Train page's form, names and times: settings from text fields into configs,
descriptive run names, and "m:ss" durations. No Streamlit, no torch work."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from dataclasses import dataclass
from pathlib import Path

from explorer.core.config import ARCHITECTURES, DEFAULT_HIDDEN_SIZES, ModelConfig, TrainConfig
from explorer.core.checkpoints import m1_fields
from explorer.core.limits import check_training_limits
from explorer.core.metrics import METRICS
from explorer.core.models import MODEL_CLASSES, model_class

__all__ = ["ARCHITECTURES", "DEFAULT_MODEL_CONFIG", "DEFAULT_TRAIN_CONFIG", "LABEL_CHOICES", "LINEAR_AE", "M2",
           "MODEL_CHOICES", "ModelTraits", "default_hidden_text", "format_seconds", "hidden_after_network_change",
           "last_metrics", "make_configs", "model_traits", "parse_hidden_sizes", "run_name"]

#: Settings that reach test -ELBO <= 145 nats within about 30 s on 2 CPU cores
#: (measured with ``python -m bench.training``; see the README).
DEFAULT_MODEL_CONFIG = ModelConfig()
DEFAULT_TRAIN_CONFIG = TrainConfig(epochs=7, batch_size=128, lr=2e-3, lr_schedule="cosine", seed=0)


#: The Train page's choice for the linear autoencoder: an AE with no hidden layer and an
#: identity-mean Gaussian decoder (squared error), which learns the principal subspace.
LINEAR_AE = "linear_ae"
#: The semi-supervised model's kind (Kingma et al. 2014): M2, or M1+M2 with an M1 VAE file.
M2 = "m2"
#: The Train page's model choices (the VAE first: the default), each a model kind of
#: :data:`explorer.core.config.MODEL_KINDS` or :data:`LINEAR_AE`.
MODEL_CHOICES = {
    **{kind: MODEL_CLASSES[kind].title for kind in sorted(MODEL_CLASSES, key=lambda k: k != "vae")},
    LINEAR_AE: "Linear AE (= PCA)",
}
#: How many training labels M2 may know: the columns of Kingma et al. 2014, Table 1.
LABEL_CHOICES = (100, 600, 1000, 3000)
#: The std of M1+M2's Gaussian on the M1 codes the page starts from: the shipped model's
#: (docs/semi-supervised.md: with 0.1 the decoder ignores the label y).
M1_CODE_STD = 0.7
#: Decoder likelihoods offered for the nonlinear models (the linear AE has its own).
LIKELIHOOD_LABELS = {"bernoulli": "Bernoulli (binary cross-entropy)", "gaussian": "Gaussian (squared error)"}
NOISE_LABELS = {"none": "none", "masking": "masking (pixels set to 0)", "gaussian": "Gaussian (clipped)"}


@dataclass(frozen=True)
class ModelTraits:
    """What a Train-page model choice is, for which settings to show.

    Attributes:
        variational: has a posterior q(z|x) and a KL term (beta applies unless semi-supervised).
        contractive: a CAE or SCAE (lambda applies); contraction_noise: the SCAE (sigma applies).
        semi_supervised: M2 (known labels, alpha and the M1 choice apply; beta and input noise do not).
        linear: the linear AE (network, hidden sizes, decoder and beta do not apply).
    """

    variational: bool
    contractive: bool
    contraction_noise: bool
    semi_supervised: bool
    linear: bool


def model_traits(choice: str) -> ModelTraits:
    """The :class:`ModelTraits` of a key of :data:`MODEL_CHOICES`.

    Raises:
        KeyError: unknown choice.
    """
    if choice == LINEAR_AE:
        return ModelTraits(False, False, False, False, True)
    cls = model_class(choice)
    return ModelTraits(cls.is_variational, cls.is_contractive, cls.uses_contraction_noise, cls.is_semi_supervised,
                       False)


def last_metrics(history: list, variational: bool) -> list[tuple[str, str, str]]:
    """(label, value text, help) of the test metrics the live view shows beside the curves,
    from the last completed epoch of ``history`` (:class:`explorer.core.train.EpochRecord`
    list): -ELBO and reconstruction (nats), and a classifier's test error (%) where the
    model has one; a metric that does not apply or was not measured is left out."""
    if not history:
        return []
    last = history[-1].metrics
    return [(METRICS[name].label, f"{last[name]:.2f}", METRICS[name].help)
            for name in ("test_classification_error", "test_neg_elbo", "test_reconstruction")
            if last.get(name) is not None and METRICS[name].applies_to(variational)]


def parse_hidden_sizes(text: str) -> tuple[int, ...]:
    """Hidden layer widths from text such as ``"512, 256"`` or ``"512 256"``.

    Raises:
        ValueError: empty text, or a part that is not a positive integer.
    """
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts:
        raise ValueError("hidden sizes: give at least one layer width, e.g. 512, 256")
    sizes = []
    for part in parts:
        if not part.isdigit() or int(part) < 1:
            raise ValueError(f"hidden sizes: {part!r} is not a positive whole number (e.g. 512, 256)")
        sizes.append(int(part))
    return tuple(sizes)


def default_hidden_text(architecture: str) -> str:
    """The Hidden sizes field's text for a network: its default widths
    (:data:`explorer.core.config.DEFAULT_HIDDEN_SIZES`), e.g. ``"512, 256"``.

    Raises:
        KeyError: unknown architecture.
    """
    return ", ".join(map(str, DEFAULT_HIDDEN_SIZES[architecture]))


def hidden_after_network_change(text: str, old: str, new: str) -> str:
    """The Hidden sizes field's text after the network changes from ``old`` to ``new``:
    ``new``'s default widths where ``text`` still says ``old``'s (however spaced), else
    ``text`` unchanged (widths the user typed are kept, also ones that cannot be parsed).

    Raises:
        KeyError: unknown architecture.
    """
    try:
        untouched = parse_hidden_sizes(text) == DEFAULT_HIDDEN_SIZES[old]
    except ValueError:
        untouched = False
    return default_hidden_text(new) if untouched else text


def make_configs(*, kind: str, latent_dim: int, hidden_sizes: str, beta: float, epochs: int,
                 batch_size: int, lr: float, lr_schedule: str, seed: int,
                 subset: int, architecture: str = "mlp", likelihood: str = "bernoulli",
                 input_noise: str = "none", noise_level: float = 0.5, contraction: float | None = None,
                 contraction_noise: float | None = None, labels: int | None = None,
                 alpha_fraction: float | None = None, m1: str | Path | None = None,
                 code_std: float = M1_CODE_STD) -> tuple[ModelConfig, TrainConfig]:
    """Model and training settings from the Train page's form.

    Args:
        kind: a key of :data:`MODEL_CHOICES`. :data:`LINEAR_AE` is an AE with one linear
            layer each way (no hidden layer, no activation) and the identity-mean Gaussian
            decoder (``gaussian_identity``, squared error): ``hidden_sizes``,
            ``architecture``, ``likelihood`` and ``beta`` are then ignored.
        hidden_sizes: text such as ``"512, 256"`` (see :func:`parse_hidden_sizes`).
        subset: training images to use; 0 means all of them.
        architecture: one of :data:`explorer.core.config.ARCHITECTURES` (for the
            convolutional ones ``hidden_sizes`` are the dense widths after the convolutions).
        input_noise, noise_level: corruption of the training input (a denoising
            autoencoder, Vincent et al. 2008; see :class:`TrainConfig`).
        contraction, contraction_noise: lambda and the SCAE's sigma of a contractive AE
            (Rifai et al. 2011; see :class:`ModelConfig`); None: the defaults.
        labels, alpha_fraction: M2 only (Kingma et al. 2014): how many training labels are
            known (balanced over the digits, seeded by ``seed``) and alpha / N (None: the
            paper's 0.1); see :class:`TrainConfig`.
        m1, code_std: M2 only: the M1 VAE checkpoint file whose codes M2 trains on (M1+M2,
            :func:`explorer.core.checkpoints.m1_fields`, as the CLI's ``--m1``) and the std of
            the Gaussian on those codes (``decoder_std``; ``likelihood`` and ``architecture``
            are then ignored: the codes are a vector); None: M2 on the pixels.
        Others: as in :class:`ModelConfig` and :class:`TrainConfig`.

    Raises:
        ValueError: any invalid setting, with a message naming it;
            :class:`explorer.core.limits.TrainingTooLarge` for a model or memory need
            over this server's limits (computed from the configs, nothing allocated).
    """
    if kind == LINEAR_AE:
        kind, hidden, architecture, likelihood, beta = "ae", (), "mlp", "gaussian_identity", 1.0
    else:
        hidden = parse_hidden_sizes(hidden_sizes)
    m0, t0 = ModelConfig(), TrainConfig()
    extra, semi = {}, model_class(kind).is_semi_supervised
    if semi:
        beta, input_noise = m0.beta, "none"
        if labels is None or int(labels) < 1:
            raise ValueError("M2 needs a number of known labels (e.g. 100: 10 per digit)")
        if subset and int(subset) < int(labels):
            raise ValueError(f"{int(labels):,} known labels need at least as many training images, not "
                             f"{int(subset):,}: raise the training images or lower the labels")
        if m1 is not None:
            extra = {**m1_fields(m1), "decoder_std": float(code_std)}
            architecture, likelihood = "mlp", "gaussian_identity"
    model_config = ModelConfig(kind=kind, latent_dim=int(latent_dim), hidden_sizes=hidden, beta=float(beta),
                               architecture=architecture, likelihood=likelihood,
                               contraction=m0.contraction if contraction is None else float(contraction),
                               contraction_noise=(m0.contraction_noise if contraction_noise is None
                                                  else float(contraction_noise)), **extra)
    train_config = TrainConfig(epochs=int(epochs), batch_size=int(batch_size), lr=float(lr),
                               lr_schedule=lr_schedule, seed=int(seed),
                               subset=int(subset) if subset else None,
                               input_noise=input_noise, noise_level=float(noise_level),
                               labels=int(labels) if semi else None,
                               alpha_fraction=(t0.alpha_fraction if alpha_fraction is None or not semi
                                               else float(alpha_fraction)))
    check_training_limits(model_config, train_config)
    return model_config, train_config


def run_name(model_config: ModelConfig, train_config: TrainConfig, epochs_done: int,
             when: datetime | None = None) -> str:
    """A descriptive name such as ``vae_z2_h512-256_b1_e7_20261121T102400Z`` (``vae_conv_z2_h32_...``
    for the convolutional networks, ``ae_linear_z2_...`` for a network without hidden layers,
    ``..._masking0.5_...`` for a denoising run, ``cae_z2_h512-256_l0.01_...`` for a contractive
    AE with lambda 0.01, ``scae_..._l1_s0.1_...`` with its sigma, ``m2_z50_h500_l100_a0.1_...``
    for M2 with 100 known labels and alpha = 0.1 * N, ``m1m2_..._c0.7_...`` on an M1's codes).

    Args:
        model_config, train_config: the run's settings.
        epochs_done: completed epochs (may be fewer than ``train_config.epochs``).
        when: time stamp (UTC; default now), to the second.
    """
    when = when or datetime.now(timezone.utc)
    hidden = "_h" + "-".join(map(str, model_config.hidden_sizes)) if model_config.hidden_sizes else ""
    beta = f"_b{model_config.beta:g}" if model_class(model_config.kind).is_variational else ""
    subset = f"_n{train_config.subset}" if train_config.subset else ""
    net = (f"_{model_config.architecture}" if model_config.architecture != "mlp"
           else "" if model_config.hidden_sizes else "_linear")
    noise = "" if train_config.input_noise == "none" else f"_{train_config.input_noise}{train_config.noise_level:g}"
    cls = model_class(model_config.kind)
    kind = model_config.kind
    if cls.is_semi_supervised:  # m2_..._l100_a0.1 (m1m2_... on an M1's codes, _c0.7 its code std)
        kind = "m2" if model_config.m1 is None else "m1m2"
        code = "" if model_config.m1 is None else f"_c{model_config.decoder_std:g}"
        beta = f"_l{train_config.labels or 'all'}_a{train_config.alpha_fraction:g}{code}"
    if cls.is_contractive:
        beta = f"_l{model_config.contraction:g}" + (f"_s{model_config.contraction_noise:g}"
                                                   if cls.uses_contraction_noise else "")
    return (f"{kind}{net}_z{model_config.latent_dim}{hidden}{beta}{noise}_e{epochs_done}{subset}"
            f"_s{train_config.seed}_{when.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}")


def format_seconds(seconds: float | None) -> str:
    """``"1:05"`` for 65 s, ``"--"`` for None (not known yet)."""
    if seconds is None or not math.isfinite(seconds):
        return "--"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"
