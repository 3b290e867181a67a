"""Greedy layer-wise pretraining of a deep classifier, then supervised fine-tuning:
stacked autoencoders (SAE, Bengio, Lamblin, Popovici & Larochelle 2007, "Greedy
Layer-Wise Training of Deep Networks") and stacked denoising autoencoders (SDAE, Vincent,
Larochelle, Bengio & Manzagol 2008, "Extracting and Composing Robust Features with
Denoising Autoencoders"; Vincent et al. 2010, JMLR 11, "Stacked Denoising Autoencoders").

The classifier is an MLP 784 - h_1 - ... - h_L - 10 with sigmoid hidden units
(:class:`StackedClassifier`; the papers' 784-1000-1000-10 is the default). Pretraining
(:func:`pretrain`) trains each hidden layer k, bottom up, as a one-layer autoencoder on the
codes of the layer below (the images for k = 1), with tied weights as in Vincent et al.
2010, Sec. 2.2-2.3:

    h = sigmoid(W x~ + b),    x^ = sigmoid(W^T h + b'),
    loss = -sum_i [x_i log x^_i + (1 - x_i) log(1 - x^_i)]   (cross-entropy, nats per input),

where x~ is x itself (SAE) or x after masking noise (SDAE: each input set to 0 with
probability nu, the "masking noise" of Vincent et al. 2010, Sec. 4.2; the project's one
corruption, :func:`explorer.core.train.corrupt`). The reconstruction is scored against the
clean x by the Bernoulli likelihood of the autoencoders (:class:`explorer.core.likelihoods.Bernoulli`).
Only the images are read in pretraining, never a label. Fine-tuning (:func:`finetune`)
then trains the whole stack plus a softmax read-out on cross-entropy with the few known
labels (:func:`explorer.core.labels.select_labels`: balanced over the digits, seeded).

Both phases use Adam on shuffled mini-batches (:func:`_fit`, this module's one loop; the
family's loop :func:`explorer.core.train.train` trains image autoencoders with ELBO metrics
and cannot take a layer's codes). The first layer's weights, one 28x28 image per hidden
unit, are the "filters" of Vincent et al. 2008, Fig. 3, shown and measured in
:mod:`explorer.core.stack_filters`; a trained stack is saved and read back by
:mod:`explorer.core.stack_files`.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.config import IMAGE_SHAPE, NUM_CLASSES
from explorer.core.likelihoods import Bernoulli
from explorer.core.train import BatchProgress, TrainingDiverged, corrupt

__all__ = ["StackConfig", "StackedClassifier", "LayerRecord", "pretrain", "finetune", "classification_error",
           "reconstruction_error", "build_stack", "copy_stack"]

#: Widest hidden layer and most hidden layers a stack may have (refused before anything is built).
MAX_HIDDEN_SIZE = 8192
MAX_LAYERS = 8


@dataclass(frozen=True)
class StackConfig:
    """A stacked (denoising) autoencoder run.

    Attributes:
        hidden_sizes: widths h_1 .. h_L of the sigmoid hidden layers (Vincent et al. 2010 use
            1000 1000 or more on MNIST).
        noise: masking fraction nu in [0, 1): the probability that each input of a layer's
            autoencoder is set to 0 in pretraining (0: SAE; > 0: SDAE).
        pretrain_epochs: passes over the unlabelled images for each layer (0: no pretraining,
            the stack keeps its random initial weights).
        finetune_epochs: passes over the labelled images in fine-tuning.
        batch_size: images per Adam step, both phases.
        pretrain_lr, finetune_lr: Adam learning rates.
        seed: seeds the initial weights, batch order, noise and the choice of labels.

    Raises:
        ValueError: a width outside [1, MAX_HIDDEN_SIZE], no or too many layers, nu outside
            [0, 1), negative epochs, batch size < 1, or a learning rate that is not > 0.
    """

    hidden_sizes: tuple[int, ...] = (1000, 1000)
    noise: float = 0.0
    pretrain_epochs: int = 10
    finetune_epochs: int = 100
    batch_size: int = 100
    pretrain_lr: float = 1e-3
    finetune_lr: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        if not 1 <= len(self.hidden_sizes) <= MAX_LAYERS:
            raise ValueError(f"give between 1 and {MAX_LAYERS} hidden layer widths, got {len(self.hidden_sizes)}")
        if any(not 1 <= h <= MAX_HIDDEN_SIZE for h in self.hidden_sizes):
            raise ValueError(f"hidden widths must be between 1 and {MAX_HIDDEN_SIZE}, got "
                             f"{' '.join(map(str, self.hidden_sizes))}")
        if not (math.isfinite(self.noise) and 0.0 <= self.noise < 1.0):
            raise ValueError(f"the masking fraction must be in [0, 1) (0.25: a quarter of the inputs set to 0), "
                             f"got {self.noise}")
        if self.pretrain_epochs < 0 or self.finetune_epochs < 0:
            raise ValueError(f"epochs cannot be negative, got pretraining {self.pretrain_epochs}, "
                             f"fine-tuning {self.finetune_epochs}")
        if self.batch_size < 1:
            raise ValueError(f"the batch size must be at least 1, got {self.batch_size}")
        for name in ("pretrain_lr", "finetune_lr"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"the learning rate must be a number > 0, got {name.replace('_', ' ')} {value}")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


class StackedClassifier(nn.Module):
    """MLP classifier with sigmoid hidden layers: images (B, 1, 28, 28) or (B, 784), pixels
    in [0, 1] -> logits (B, 10).

    ``layers[k]`` is the encoder of hidden layer k + 1 (weight (h_{k+1}, h_k)); each has a
    decoder bias b' in ``decoder_biases[k]`` (size h_k), used only by pretraining's tied
    autoencoder; ``head`` is the softmax read-out.

    Args:
        hidden_sizes: h_1 .. h_L.
    """

    def __init__(self, hidden_sizes: tuple[int, ...]) -> None:
        super().__init__()
        sizes = [math.prod(IMAGE_SHAPE), *hidden_sizes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.decoder_biases = nn.ParameterList(nn.Parameter(torch.zeros(a)) for a in sizes[:-1])
        self.head = nn.Linear(sizes[-1], NUM_CLASSES)

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        return tuple(layer.out_features for layer in self.layers)

    def codes(self, x: torch.Tensor, depth: int) -> torch.Tensor:
        """The codes of hidden layer ``depth`` (0: the flattened images), (B, h_depth) in [0, 1]."""
        h = x.flatten(1)
        for layer in self.layers[:depth]:
            h = torch.sigmoid(layer(h))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, 10)."""
        return self.head(self.codes(x, len(self.layers)))

    def reconstruct_logits(self, k: int, v: torch.Tensor) -> torch.Tensor:
        """Layer k's tied autoencoder (0-based): logits W_k^T sigmoid(W_k v + b_k) + b'_k of
        the reconstruction of its input ``v`` (B, h_{k-1}); the Bernoulli mean is their sigmoid."""
        layer = self.layers[k]
        return F.linear(torch.sigmoid(layer(v)), layer.weight.t(), self.decoder_biases[k])


@dataclass(frozen=True)
class LayerRecord:
    """What pretraining one layer did.

    Attributes:
        layer: 1-based layer number.
        reconstruction_before, reconstruction_after: reconstruction error of the clean held-out
            codes (or images) before and after pretraining (:func:`reconstruction_error`: the
            cross-entropy above its floor), nats per example.
        seconds: wall time of this layer's pretraining.
        epoch_seconds: wall time of each epoch.
    """

    layer: int
    reconstruction_before: float
    reconstruction_after: float
    seconds: float
    epoch_seconds: list[float] = field(default_factory=list)


def _fit(parameters: list[nn.Parameter], batch_loss: Callable[[torch.Tensor], torch.Tensor], n: int, epochs: int,
         batch_size: int, lr: float, generator: torch.Generator, what: str,
         on_batch: Callable[[BatchProgress], None] | None) -> list[float]:
    """Adam on ``batch_loss(rows)`` (a scalar) over shuffled mini-batches of rows 0..n-1.

    Returns:
        The wall time of each epoch, seconds.

    Raises:
        TrainingDiverged: the loss became NaN or infinite (the message names ``what``).
    """
    optimizer = torch.optim.Adam(parameters, lr=lr)
    num_batches = math.ceil(n / batch_size)
    seconds = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        for batch in range(num_batches):
            loss = batch_loss(order[batch * batch_size:(batch + 1) * batch_size])
            value = loss.item()
            if not math.isfinite(value):
                raise TrainingDiverged(f"Training diverged: the {what} loss became {value} in epoch {epoch} "
                                       f"(learning rate {lr:g}). Try a smaller learning rate.", [])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if on_batch is not None:
                on_batch(BatchProgress(epoch, batch + 1, num_batches, value))
        seconds.append(time.perf_counter() - start)
    return seconds


@torch.no_grad()
def reconstruction_error(net: StackedClassifier, k: int, v: torch.Tensor, batch_size: int = 2000) -> float:
    """How far layer k's (0-based) tied autoencoder is from reconstructing its clean inputs
    ``v`` (B, h_{k-1}) in [0, 1]: the cross-entropy loss minus its floor, the inputs' own
    binary entropy, i.e. sum_i KL(Bernoulli(v_i) || Bernoulli(v^_i)), mean nats per example
    (0 for a perfect reconstruction). The floor matters above the first layer: soft codes
    near 0.5 carry up to log 2 nats each that no reconstruction removes.
    """
    bernoulli = Bernoulli()
    total = 0.0
    for i in range(0, len(v), batch_size):
        rows = v[i:i + batch_size]
        entropy = F.binary_cross_entropy(rows, rows, reduction="none").sum(dim=1)
        total += float((bernoulli.nll(net.reconstruct_logits(k, rows), rows) - entropy).sum())
    return total / max(len(v), 1)


@torch.no_grad()
def _codes(net: StackedClassifier, images: torch.Tensor, depth: int, batch_size: int = 5000) -> torch.Tensor:
    return torch.cat([net.codes(images[i:i + batch_size], depth) for i in range(0, len(images), batch_size)])


def pretrain(net: StackedClassifier, images: torch.Tensor, config: StackConfig, held_out: torch.Tensor,
             on_layer: Callable[[int], None] | None = None,
             on_batch: Callable[[BatchProgress], None] | None = None) -> list[LayerRecord]:
    """Greedy layer-wise pretraining, in place (Bengio et al. 2007, Alg. TrainUnsupervisedSAA;
    Vincent et al. 2010, Sec. 3 and Fig. 3): layer k is trained as a tied autoencoder on the
    codes of layers 1..k-1 (kept fixed), with ``config.noise`` masking noise on its input.

    Args:
        net: a stack with ``config.hidden_sizes``.
        images: (N, 1, 28, 28) or (N, 784) unlabelled training images, pixels in [0, 1].
        config: epochs, batch size, learning rate, noise and seed (``pretrain_*``).
        held_out: (M, ...) images whose clean codes score each layer's reconstruction before and
            after (:class:`LayerRecord`).
        on_layer: called with the 1-based layer number before that layer trains.
        on_batch: called after every step (:class:`explorer.core.train.BatchProgress`).

    Returns:
        One :class:`LayerRecord` per layer.

    Raises:
        TrainingDiverged: a layer's loss became NaN or infinite.
    """
    generator = torch.Generator().manual_seed(config.seed)
    bernoulli = Bernoulli()
    records = []
    for k in range(len(net.layers)):
        if on_layer is not None:
            on_layer(k + 1)
        inputs, probe = _codes(net, images, k), _codes(net, held_out, k)
        before = reconstruction_error(net, k, probe)
        start = time.perf_counter()

        def batch_loss(rows: torch.Tensor, k: int = k, inputs: torch.Tensor = inputs) -> torch.Tensor:
            v = inputs[rows]
            v_in = corrupt(v, "masking", config.noise, generator)  # SDAE: the target stays clean
            return bernoulli.nll(net.reconstruct_logits(k, v_in), v).mean()

        params = [net.layers[k].weight, net.layers[k].bias, net.decoder_biases[k]]
        epoch_seconds = _fit(params, batch_loss, len(inputs), config.pretrain_epochs, config.batch_size,
                             config.pretrain_lr, generator, f"layer {k + 1} pretraining", on_batch)
        records.append(LayerRecord(k + 1, before, reconstruction_error(net, k, probe), time.perf_counter() - start,
                                   epoch_seconds))
    return records


def finetune(net: StackedClassifier, images: torch.Tensor, labels: torch.Tensor, config: StackConfig,
             on_batch: Callable[[BatchProgress], None] | None = None) -> list[float]:
    """Supervised fine-tuning of the whole stack and its read-out, in place: Adam on the mean
    cross-entropy -log softmax(logits)_y of the labelled images (Bengio et al. 2007, Sec. 3;
    Vincent et al. 2010, Sec. 3.3).

    Args:
        net: the (pretrained or freshly initialised) stack.
        images: (N_l, 1, 28, 28) or (N_l, 784), the labelled images; labels: (N_l,) int64 digits.
        config: ``finetune_epochs``, ``finetune_lr``, ``batch_size``, ``seed``.

    Returns:
        The wall time of each epoch, seconds; the net is left in eval mode.

    Raises:
        ValueError: images and labels differ in length, or there are none.
        TrainingDiverged: the loss became NaN or infinite.
    """
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"fine-tuning needs as many labels as images, at least one; got {len(images)} images, "
                         f"{len(labels)} labels")
    generator = torch.Generator().manual_seed(config.seed + 1)
    net.train()
    try:
        return _fit(list(net.parameters()), lambda rows: F.cross_entropy(net(images[rows]), labels[rows]),
                    len(images), config.finetune_epochs, config.batch_size, config.finetune_lr, generator,
                    "fine-tuning", on_batch)
    finally:
        net.eval()


@torch.no_grad()
def classification_error(net: StackedClassifier, images: torch.Tensor, labels: torch.Tensor,
                         batch_size: int = 5000) -> float:
    """Share of ``images`` whose arg-max class differs from ``labels`` (N,), in [0, 1]."""
    wrong = sum(int((net(images[i:i + batch_size]).argmax(1) != labels[i:i + batch_size]).sum())
                for i in range(0, len(images), batch_size))
    return wrong / len(images)


def build_stack(config: StackConfig) -> StackedClassifier:
    """A freshly initialised stack (PyTorch's default uniform initialisation), seeded by
    ``config.seed`` without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return StackedClassifier(config.hidden_sizes)


def copy_stack(net: StackedClassifier) -> StackedClassifier:
    """An independent copy (one pretrained stack fine-tuned for several label counts)."""
    return copy.deepcopy(net)
