"""Named test metrics: what :func:`evaluate` returns, training records, checkpoints store,
and the app and the CLI show, all without listing them again.

Each metric is a function of one :class:`EvalPass` (the model, the data, and the
per-image loss terms of one seeded pass) registered with :func:`metric`, which also
gives its label and help text for people. Adding a metric (an importance-sampled
log p(x), active units, ...) is one decorated function here. Metric keys are the names
checkpoints store (``test_neg_elbo``, ``test_reconstruction``, ``test_kl``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from explorer.core.models import Autoencoder
from explorer.core.objective import loss_terms


@dataclass(frozen=True)
class EvalPass:
    """One evaluation pass over a data set, shared by every metric.

    Attributes:
        model: the model evaluated (eval mode).
        images: (N, C, H, W) pixels in [0, 1].
        labels: (N,) int64 labels, or None.
        reconstruction: (N,) -log p(x|z) in nats, one z ~ q(z|x) per image (seeded).
        kl: (N,) KL(q(z|x) || p(z)) in nats (zeros for a deterministic model).
        seed: the seed of the pass's noise, for metrics that draw more.
    """

    model: Autoencoder
    images: torch.Tensor
    labels: torch.Tensor | None
    reconstruction: torch.Tensor
    kl: torch.Tensor
    seed: int


@dataclass(frozen=True)
class Metric:
    """A named metric.

    Attributes:
        name: key in results, histories and checkpoints, e.g. ``"test_neg_elbo"``.
        label: what people see, with its unit, e.g. ``"Test -ELBO (nats/image)"``.
        help: one or two sentences explaining it (help text in the app).
        variational_only: meaningful only for models with a posterior (KL, ELBO); views
            hide it for the others.
        deterministic_value: what a variational-only metric is for a model without a
            posterior (None: undefined, e.g. the ELBO; 0.0 for the KL term its loss lacks).
        compute: EvalPass -> float (or None where it does not apply to the model).
        unit: ``"nats"`` (per image, drawn on the training curves' nats axes),
            ``"count"`` (a whole number such as active units, shown without decimals) or
            ``"percent"`` (e.g. a classification error).
    """

    name: str
    label: str
    help: str
    variational_only: bool
    deterministic_value: float | None
    compute: Callable[[EvalPass], float]
    unit: str = "nats"

    @property
    def short_label(self) -> str:
        """The label without its unit, e.g. ``"Test -ELBO"``."""
        return self.label.split(" (")[0]

    def applies_to(self, model_is_variational: bool) -> bool:
        """Whether views should show this metric for such a model."""
        return model_is_variational or not self.variational_only

    def format(self, value: float | None) -> str:
        """The value as people read it: ``"138.41"`` (nats), ``"2"`` (count), ``"n/a"`` (None)."""
        if value is None:
            return "n/a"
        return f"{value:.0f}" if self.unit == "count" else f"{value:.2f}"


#: Every metric, in display order.
METRICS: dict[str, Metric] = {}


def metric(name: str, label: str, help: str, variational_only: bool = False,
           deterministic_value: float | None = None, unit: str = "nats"):
    """Decorator: register ``compute(EvalPass) -> float`` as the metric ``name`` (see :class:`Metric`)."""
    def register(compute: Callable[[EvalPass], float]) -> Callable[[EvalPass], float]:
        METRICS[name] = Metric(name, label, help, variational_only, deterministic_value, compute, unit)
        return compute
    return register


@metric("test_neg_elbo", "Test -ELBO (nats/image)",
        "Negative evidence lower bound, reconstruction + KL, averaged over the test images "
        "(one z drawn from q(z|x) per image, Kingma & Welling 2013, Eq. 10). Lower is better; "
        "it bounds -log p(x) from above. A nat is the natural-log unit of information.",
        variational_only=True)
def _neg_elbo(p: EvalPass) -> float:
    return float((p.reconstruction.double() + p.kl.double()).mean())


@metric("test_reconstruction", "Test reconstruction (nats/image)",
        "-log p(x|z): how well the decoder explains the test image from its code, in nats "
        "(natural-log units). Lower is better.")
def _reconstruction(p: EvalPass) -> float:
    return float(p.reconstruction.double().mean())


@metric("test_kl", "Test KL (nats/image)",
        "KL(q(z|x) || p(z)): how far the encoder's posterior for an image lies from the prior "
        "N(0, I), in nats; closed form of Kingma & Welling 2013, Appendix B.",
        variational_only=True, deterministic_value=0.0)
def _kl(p: EvalPass) -> float:
    return float(p.kl.double().mean())


@torch.inference_mode()
def evaluate(model: Autoencoder, images: torch.Tensor, labels: torch.Tensor | None = None,
             batch_size: int = 1000, seed: int = 0) -> dict[str, float | None]:
    """Every metric of :data:`METRICS` on a data set, per image.

    The reparameterization noise comes from a generator seeded by ``seed``, so results
    repeat. For a conditional model every term is conditional on the true label.

    Args:
        model: any model of the family (switched to eval mode while evaluating, then restored).
        images: (N, C, H, W), pixels in [0, 1].
        labels: (N,) int64 labels; required by a conditional model.
        batch_size: images per forward pass.
        seed: seed of the noise.

    Returns:
        ``{metric name: value}`` in nats per image; for a model without a posterior each
        variational-only metric takes its ``deterministic_value`` (-ELBO None, KL 0.0).

    Raises:
        ValueError: a conditional model without labels, or mismatched shapes.
    """
    if model.is_conditional and labels is None:
        raise ValueError("a conditional model is evaluated with the labels of its images")
    was_training = model.training
    model.eval()
    generator = torch.Generator(device=images.device).manual_seed(seed)
    recs, kls = [], []
    try:
        for start in range(0, len(images), batch_size):
            y = None if labels is None else labels[start : start + batch_size]
            terms = loss_terms(model, images[start : start + batch_size], y, generator=generator)
            recs.append(terms.reconstruction)
            kls.append(terms.kl)
        p = EvalPass(model, images, labels, torch.cat(recs), torch.cat(kls), seed)
        return {m.name: m.deterministic_value if m.variational_only and not model.is_variational else m.compute(p)
                for m in METRICS.values()}
    finally:
        model.train(was_training)


@metric("test_classification_error", "Test classification error (%)",
        "Share of the test images whose most probable label under the model's classifier "
        "q(y|x) is wrong, in percent (semi-supervised M2, Kingma et al. 2014, Table 1); chance is "
        "90 %. Only for models with a classifier.", unit="percent")
def _classification_error(p: EvalPass) -> float | None:
    if not p.model.is_semi_supervised or p.labels is None:
        return None
    wrong = sum(int((p.model.predict(p.images[i : i + 1000]) != p.labels[i : i + 1000]).sum())
                for i in range(0, len(p.images), 1000))
    return 100.0 * wrong / len(p.images)


# --- How many latent dimensions the model uses: KL per dimension, active units ----------

#: Burda et al. (2015), Section 5.2: a dimension d is active when Cov_x(E_q[z_d]) > 0.01.
ACTIVE_UNIT_THRESHOLD = 0.01


@dataclass(frozen=True)
class LatentUsage:
    """How a variational model uses each latent dimension on a data set.

    Attributes:
        kl_per_dimension: (latent_dim,) float64, KL_d averaged over the images in nats:
            KL_d = -1/2 * (1 + log sigma_d^2 - mu_d^2 - sigma_d^2), the closed form of
            Kingma & Welling (2013), Appendix B, taken per dimension (the terms of its sum);
            the entries add up to the test KL.
        mu_variance: (latent_dim,) float64, Var over the images of mu_d = E_q[z_d], the
            activity statistic Cov_x(E_q[z_d]) of Burda et al. (2015), Section 5.2
            (population variance, divided by N).
        threshold: the activity threshold (:data:`ACTIVE_UNIT_THRESHOLD`).
    """

    kl_per_dimension: torch.Tensor
    mu_variance: torch.Tensor
    threshold: float = ACTIVE_UNIT_THRESHOLD

    @property
    def active(self) -> torch.Tensor:
        """(latent_dim,) bool: mu_variance > threshold."""
        return self.mu_variance > self.threshold

    @property
    def active_units(self) -> int:
        """How many dimensions are active (Burda et al. 2015, Section 5.2)."""
        return int(self.active.sum())


@torch.inference_mode()
def latent_usage(model: Autoencoder, images: torch.Tensor, labels: torch.Tensor | None = None,
                 batch_size: int = 2000, threshold: float = ACTIVE_UNIT_THRESHOLD) -> LatentUsage:
    """KL per latent dimension and the variance of mu per dimension over a data set.

    No noise is drawn: both come from the encoder's mu and logvar alone. For a
    conditional model (M2 of Kingma et al. 2014) both are conditional on the true label:
    each image is encoded as q(z|x, y) with its own label y.

    Args:
        model: a variational model of the family (switched to eval mode while encoding, then restored).
        images: (N, C, H, W), pixels in [0, 1], N >= 1.
        labels: (N,) int64 labels; required by a conditional model.
        batch_size: images per forward pass.
        threshold: activity threshold on Var_x(mu_d).

    Returns:
        :class:`LatentUsage`.

    Raises:
        ValueError: the model has no posterior (an AE's codes have no KL), no images, or
            a conditional model without labels.
    """
    if not model.is_variational:
        raise ValueError("KL per dimension and active units need a model with a posterior q(z|x) (a VAE)")
    if len(images) == 0:
        raise ValueError("need at least one image")
    if model.is_conditional and labels is None:
        raise ValueError("a conditional model is evaluated with the labels of its images")
    was_training = model.training
    model.eval()
    mus, kl_sum = [], torch.zeros(model.config.latent_dim, dtype=torch.float64)
    try:
        for start in range(0, len(images), batch_size):
            y = None if labels is None else labels[start : start + batch_size]
            mu, logvar = model.encode(images[start : start + batch_size], y)
            mu, logvar = mu.double(), logvar.double()
            kl_sum += (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(dim=0)
            mus.append(mu)
    finally:
        model.train(was_training)
    mu = torch.cat(mus)
    return LatentUsage(kl_sum / len(images), mu.var(dim=0, unbiased=False), threshold)


@metric("test_active_units", "Active units (of the latent dimensions)",
        "How many latent dimensions the encoder uses: dimension d is active when the encoder "
        "mean mu_d varies across test images with variance above 0.01 (Burda et al. 2015, "
        "Section 5.2); an inactive one keeps q(z_d|x) at the prior whatever the image, so its "
        "KL is near 0. Conditional models: given the true label.",
        variational_only=True, unit="count")
def _active_units(p: EvalPass) -> float:
    return float(latent_usage(p.model, p.images, p.labels).active_units)


def per_dimension_metrics(model: Autoencoder, images: torch.Tensor,
                          labels: torch.Tensor | None = None) -> dict[str, list[float]]:
    """The per-dimension numbers the evaluate CLI prints beside :func:`evaluate`'s.

    Returns:
        ``{"test_kl_per_dimension": [KL_1, ...] (nats/image), "test_mu_variance_per_dimension":
        [Var(mu_1), ...]}`` from :func:`latent_usage` (conditional on the true label for
        a conditional model); ``{}`` for a model without a posterior.
    """
    if not model.is_variational:
        return {}
    usage = latent_usage(model, images, labels)
    return {"test_kl_per_dimension": usage.kl_per_dimension.tolist(),
            "test_mu_variance_per_dimension": usage.mu_variance.tolist()}
