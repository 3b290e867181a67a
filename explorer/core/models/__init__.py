"""The autoencoder family, one module per model (pythae's ``models/<family>``), and the
registry that builds a model from its config.

Add a family: a module with an :class:`~explorer.core.models.base.Autoencoder`
subclass, an entry in :data:`MODEL_CLASSES` and its kind in
:data:`explorer.core.config.MODEL_KINDS`.
"""

from __future__ import annotations

import torch

from explorer.core.config import MODEL_KINDS, ModelConfig
from explorer.core.models.ae import AE
from explorer.core.models.base import Autoencoder, ModelOutput
from explorer.core.models.cae import CAE, SCAE
from explorer.core.models.cvae import ConditionalVAE
from explorer.core.models.m2 import M2
from explorer.core.models.vae import VAE, reparameterize

#: ``ModelConfig.kind`` -> model class.
MODEL_CLASSES: dict[str, type[Autoencoder]] = {"ae": AE, "vae": VAE, "cvae": ConditionalVAE, "cae": CAE,
                                               "scae": SCAE, "m2": M2}
assert tuple(MODEL_CLASSES) == MODEL_KINDS, "MODEL_CLASSES and config.MODEL_KINDS must list the same kinds"

__all__ = ["AE", "CAE", "M2", "SCAE", "VAE", "ConditionalVAE", "Autoencoder", "ModelConfig", "ModelOutput", "MODEL_CLASSES",
           "build_model", "model_class", "num_parameters", "reparameterize"]


def model_class(kind: str) -> type[Autoencoder]:
    """The class behind a model kind (for its ``title``, ``is_variational``, ...).

    Raises:
        ValueError: unknown kind.
    """
    try:
        return MODEL_CLASSES[kind]
    except KeyError:
        raise ValueError(f"kind must be one of {list(MODEL_CLASSES)}, got {kind!r}") from None


def num_parameters(config: ModelConfig) -> int:
    """Number of parameters (weights and biases) of ``build_model(config)``, without building it.

    Raises:
        ValueError: unknown kind or architecture.
    """
    from explorer.core.networks import NETWORK_SIZES

    cls = model_class(config.kind)
    if cls.is_semi_supervised:  # M1+M2: the networks read M1's codes, not the pixels
        from explorer.core.models.m2 import network_config

        config = network_config(config)
    if config.architecture not in NETWORK_SIZES:
        raise ValueError(f"no networks for architecture {config.architecture!r}")
    condition_size = config.num_classes if cls.is_conditional else 0
    size = NETWORK_SIZES[config.architecture](config, cls.code_per_dim * config.latent_dim, condition_size)
    if cls.is_semi_supervised:  # the classifier q(y|x): an encoder with num_classes outputs
        from explorer.core.networks import build_networks

        with torch.device("meta"):  # shapes only, no memory
            size += sum(p.numel() for p in build_networks(config, config.num_classes)[0].parameters())
    return size


def build_model(config: ModelConfig, seed: int | None = None) -> Autoencoder:
    """A freshly initialised model for ``config`` (in training mode).

    Args:
        config: the model's description.
        seed: seeds the initial weights without touching the global RNG state
            (None: draw from the global RNG).
    """
    cls = model_class(config.kind)
    if seed is None:
        return cls(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(config)
