"""Semi-supervised M2 (Kingma, Rezende, Mohamed & Welling 2014, "Semi-Supervised Learning
with Deep Generative Models", Section 2.2): the conditional VAE's encoder q(z|x, y) and
decoder p(x|y, z) plus a classifier q(y|x) that infers the label of an unlabelled image.

M1+M2 (Section 3.2, the stacked model): the same M2 trained on the codes of an M1 VAE
instead of the pixels; ``ModelConfig.m1`` names the M1 checkpoint (its SHA-256 is checked
whenever the model is built) and :meth:`M2.features` maps images to M1's posterior mean.

The bounds L(x, y) (Eq. 6), U(x) (Eq. 7) and the objective J^alpha (Eq. 9) live with the
other objectives in :mod:`explorer.core.objective`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import torch

from explorer.core.config import ModelConfig
from explorer.core.models.base import ModelOutput
from explorer.core.models.cvae import ConditionalVAE
from explorer.core.models.vae import reparameterize
from explorer.core.networks import build_networks

#: The project's root (where ``checkpoints/`` lives).
PROJECT_ROOT = Path(__file__).resolve().parents[3]

_M1_CACHE: dict[str, object] = {}


def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file's bytes, 64 hex digits."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def resolve_m1(name: str) -> Path | None:
    """The file an M1 reference names: the path itself (relative to the working folder),
    relative to the project, or its file name in the project's ``checkpoints/``; None when
    none is a regular file (never a FIFO or a device)."""
    for candidate in (Path(name), PROJECT_ROOT / name, PROJECT_ROOT / "checkpoints" / Path(name).name):
        if candidate.is_file():
            return candidate
    return None


def load_m1(name: str, sha256: str):
    """The M1 VAE an M1+M2 model stands on, in eval mode with frozen weights (the file's
    bytes are hashed at every call; the loaded weights are cached per process by hash).

    Args:
        name: ``ModelConfig.m1`` (see :func:`resolve_m1`).
        sha256: ``ModelConfig.m1_sha256``, the SHA-256 its bytes must have.

    Raises:
        ValueError: the file is missing, its bytes are not the ones the model was trained on,
            it does not load, or it is not an unconditional VAE.
    """
    from explorer.core.checkpoints import MAX_FILE_BYTES, CheckpointError, load_checkpoint

    path = resolve_m1(name)
    if path is None:
        raise ValueError(f"its M1 VAE {Path(name).name} is missing (put that file back in checkpoints/)")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"its M1 VAE {path.name} is larger than a checkpoint may be")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"its M1 VAE {path.name} is not the file it was trained on (SHA-256 differs)")
    if sha256 in _M1_CACHE:  # the bytes are checked every time, the weights loaded once
        return _M1_CACHE[sha256]
    with torch.device("cpu"):  # real weights even while shapes are built on the meta device
        try:
            m1 = load_checkpoint(data, name=path.name, recompute=False).model
        except CheckpointError as exc:
            raise ValueError(f"the M1 VAE does not load: {exc}") from None
    if not m1.is_variational or m1.is_conditional or m1.is_semi_supervised:
        raise ValueError(f"the M1 of M1+M2 must be an unconditional VAE, {path.name} holds a {m1.title}")
    m1.eval().requires_grad_(False)
    _M1_CACHE[sha256] = m1
    return m1


def network_config(config: ModelConfig) -> ModelConfig:
    """The config M2's own networks are built from: ``config`` itself for M2 on pixels; for
    M1+M2 the same with inputs of shape (1, 1, M1's latent_dim).

    Raises:
        ValueError: see :func:`load_m1`.
    """
    if config.m1 is None:
        return config
    m1 = load_m1(config.m1, config.m1_sha256)
    return dataclasses.replace(config, image_shape=(1, 1, m1.config.latent_dim), m1=None, m1_sha256=None)


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
        m1 = None if config.m1 is None else load_m1(config.m1, config.m1_sha256)
        object.__setattr__(self, "m1", m1)  # not registered: no M1 weights in state_dict()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """What the networks read: the images themselves, or (M1+M2) M1's code mu of each,
        (B, 1, 1, L1), without gradients.

        Raises:
            ValueError: x is not (B, C, H, W).
        """
        self._check_images(x)
        if self.m1 is None:
            return x
        m1 = self.m1
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
