"""Semi-supervised M2 (Kingma, Rezende, Mohamed & Welling 2014, "Semi-Supervised Learning
with Deep Generative Models", Section 2.2): the conditional VAE's encoder q(z|x, y) and
decoder p(x|y, z) plus a classifier q(y|x) that infers the label of an unlabelled image.

The bounds L(x, y) (Eq. 6), U(x) (Eq. 7) and the objective J^alpha (Eq. 9) live with the
other objectives in :mod:`explorer.core.objective`.
"""

from __future__ import annotations

import torch

from explorer.core.config import ModelConfig
from explorer.core.models.base import ModelOutput
from explorer.core.models.cvae import ConditionalVAE
from explorer.core.networks import build_networks


class M2(ConditionalVAE):
    """M2: the conditional VAE (q(z|x, y), p(x|y, z), prior p(z) = N(0, I), p(y) uniform)
    with a classifier q(y|x) = Cat(softmax(classifier(x))).

    The classifier is an encoder of ``config.architecture`` and ``config.hidden_sizes``
    with ``num_classes`` outputs (the logits). Where a label is not given (``y=None``),
    :meth:`encode` and :meth:`forward` use the classifier's most probable label.
    """

    is_semi_supervised = True
    title = "M2 (semi-supervised VAE)"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.classifier = build_networks(config, config.num_classes)[0]

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of q(y|x), (B, num_classes): log q(y|x) = log_softmax(logits).

        Raises:
            ValueError: x is not (B, C, H, W).
        """
        self._check_images(x)
        return self.classifier(x)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most probable label argmax_y q(y|x), (B,) int64."""
        return self.classify(x).argmax(dim=1)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z|x, y), each (B, latent_dim); y None: the predicted label."""
        return super().encode(x, self.predict(x) if y is None else y)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> ModelOutput:
        """Encode with q(z|x, y), draw z, decode p(x|y, z); y None: the predicted label."""
        return super().forward(x, self.predict(x) if y is None else y, generator)
