"""Semi-supervised M2 (Kingma, Rezende, Mohamed & Welling 2014, "Semi-Supervised Learning
with Deep Generative Models", Section 2.2): the conditional VAE's encoder q(z|x, y) and
decoder p(x|y, z) plus a classifier q(y|x) that infers the label of an unlabelled image.

M1+M2 (Section 3.2, the stacked model): the same M2 trained on the codes of an M1 VAE
instead of the pixels; ``ModelConfig.m1`` names the M1 checkpoint (its SHA-256 is checked
when the model is loaded, :func:`explorer.core.checkpoints.load_m1`) and :meth:`M2.features`
maps images to M1's posterior mean.

The bounds L(x, y) (Eq. 6), U(x) (Eq. 7) and the objective J^alpha (Eq. 9) live with the
other objectives in :mod:`explorer.core.objective`.
"""

from __future__ import annotations

import dataclasses

import torch

from explorer.core.config import ModelConfig
from explorer.core.models.base import ModelOutput
from explorer.core.models.cvae import ConditionalVAE
from explorer.core.models.vae import reparameterize
from explorer.core.networks import build_networks


def network_config(config: ModelConfig) -> ModelConfig:
    """The config M2's own networks are built from: ``config`` itself for M2 on pixels; for
    M1+M2 the same with inputs of shape (1, 1, ``config.m1_latent_dim``)."""
    if config.m1 is None:
        return config
    return dataclasses.replace(config, image_shape=(1, 1, config.m1_latent_dim), m1=None, m1_sha256=None,
                               m1_latent_dim=None)


class M2(ConditionalVAE):
    """M2: the conditional VAE (q(z|x, y), p(x|y, z), prior p(z) = N(0, I), p(y) uniform)
    with a classifier q(y|x) = Cat(softmax(classifier(x))).

    The classifier is an encoder of ``config.architecture`` and ``config.hidden_sizes``
    with ``num_classes`` outputs (the logits). Where a label is not given (``y=None``),
    :meth:`encode` and :meth:`forward` use the classifier's most probable label.

    With ``config.m1`` set (M1+M2) every network reads the M1 VAE's code mu (B, 1, 1, L1)
    of an image instead of its pixels, and the decoder's outputs are Gaussian means of that
    code (``config.likelihood``); images go in as for M2. The M1 is not a submodule: its
    weights stay in its own file, not in this model's state dict.
    """

    is_semi_supervised = True
    title = "M2 (semi-supervised VAE)"

    def __init__(self, config: ModelConfig) -> None:
        inner = network_config(config)
        super().__init__(inner)
        self.config = config
        self.feature_shape = inner.image_shape
        self.classifier = build_networks(inner, config.num_classes)[0]
        object.__setattr__(self, "m1", None)  # not registered: no M1 weights in state_dict()

    def attach_m1(self, m1) -> None:
        """Give an M1+M2 model its M1 VAE (:func:`explorer.core.checkpoints.load_m1` finds
        and checks the file ``config.m1`` names); frozen and kept in eval mode.

        Raises:
            ValueError: this is no M1+M2 model, or ``m1`` is no unconditional VAE with
                ``config.m1_latent_dim`` latent dimensions.
        """
        if self.config.m1 is None:
            raise ValueError("a plain M2 model reads pixels; it takes no M1 VAE")
        if not m1.is_variational or m1.is_conditional or m1.is_semi_supervised:
            raise ValueError(f"the M1 of M1+M2 must be an unconditional VAE, not a {m1.title}")
        if m1.config.latent_dim != self.config.m1_latent_dim or m1.config.image_shape != self.config.image_shape:
            raise ValueError(f"the M1 VAE has {m1.config.latent_dim} latent dimensions for images of shape "
                             f"{m1.config.image_shape}; this model reads {self.config.m1_latent_dim} for "
                             f"{self.config.image_shape}")
        m1.eval().requires_grad_(False)
        object.__setattr__(self, "m1", m1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """What the networks read: the images themselves, or (M1+M2) M1's code mu of each,
        (B, 1, 1, L1), without gradients.

        Raises:
            ValueError: x is not (B, C, H, W).
        """
        self._check_images(x)
        if self.config.m1 is None:
            return x
        m1 = self.m1
        if m1 is None:
            raise ValueError("this M1+M2 model has no M1 VAE yet: load it with load_checkpoint, which finds "
                             f"and checks {self.config.m1}")
        if next(m1.parameters()).device != x.device:
            m1.to(x.device)
        with torch.no_grad():
            return m1.encode(x)[0].reshape(len(x), *self.feature_shape)

    def classify_features(self, f: torch.Tensor) -> torch.Tensor:
        """Logits of q(y|x) from :meth:`features` output, (B, num_classes)."""
        return self.classifier(f)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of q(y|x), (B, num_classes): log q(y|x) = log_softmax(logits).

        Raises:
            ValueError: x is not (B, C, H, W).
        """
        return self.classify_features(self.features(x))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most probable label argmax_y q(y|x), (B,) int64."""
        return self.classify(x).argmax(dim=1)

    def encode_features(self, f: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z|x, y) from :meth:`features` output, each (B, latent_dim)."""
        mu, logvar = self.encoder(f, self.condition(y, len(f))).chunk(2, dim=1)
        return mu, logvar

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z|x, y), each (B, latent_dim); y None: the predicted label."""
        f = self.features(x)
        return self.encode_features(f, self.classify_features(f).argmax(dim=1) if y is None else y)

    def forward_features(self, f: torch.Tensor, y: torch.Tensor,
                         generator: torch.Generator | None = None) -> ModelOutput:
        """Encode :meth:`features` output with q(z|x, y), draw z, decode p(x|y, z) (logits of
        the features' shape)."""
        mu, logvar = self.encode_features(f, y)
        z = reparameterize(mu, logvar, generator)
        return ModelOutput(self.decode(z, y), mu, logvar, z)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> ModelOutput:
        """Encode with q(z|x, y), draw z, decode p(x|y, z); y None: the predicted label."""
        f = self.features(x)
        return self.forward_features(f, self.classify_features(f).argmax(dim=1) if y is None else y, generator)
