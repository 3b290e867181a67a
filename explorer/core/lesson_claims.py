"""Every sentence of the AE-vs-VAE lesson, with the number that shows it.

Each :class:`Claim` names its measurement, the condition the number must meet, the
sentence the lesson says when it does, and the sentence it says instead when it does
not. The numbers come from :class:`ModelFacts`, measured on a model's own test codes
and decodings with the validated judge of :mod:`explorer.core.realism`; a pair's
claims are :func:`evaluate_claims` of the two models' facts (left, right).
``python -m explorer.cli.lesson_check`` prints them for the shipped pair.

Facts per model (all on the MNIST test split, seeded):

* spread: the largest per-dimension span of the codes mu, 0.5 to 99.5 percentile (units of z);
* empty share (2-D only): share of a 30 x 30 grid over that box with no test code in its cell;
* inside circle: share of codes with ||mu|| <= 3 (the prior's 3-sigma circle in 2-D);
* samples: for each sampler of :mod:`explorer.core.sampling`, the share of decoded
  samples judged real and the counts of the classifier's labels;
* paths: share of the in-between images (8 per path of 10) judged real, over random
  pairs of test digits of different labels; per pair, how many are judged not real;
* cloud (VAE only): share of posterior draws z = mu + sigma * eps decoded to the same
  label as the digit's decoded mean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from explorer.core.models import Autoencoder
from explorer.core.realism import RealismJudge
from explorer.core.sampling import SAMPLERS, code_box, sample_codes

#: Samples per sampler, path pairs, steps per path, cloud digits and draws per digit.
#: SAMPLES and SEED are those of every "share judged real" of samples the app shows (the
#: lesson's claims, the Sample tab, the holes tab): one measurement, :func:`sample_judgement`.
#: 500 keeps the lesson's first measurement near 3 s a model on 2 cores (2,000: about 7 s);
#: the share's standard error is then about 2 points (sqrt(0.8 x 0.2 / 500)).
SAMPLES = 500
SEED = 0
PATH_PAIRS = 40
PATH_STEPS = 10
CLOUD_DIGITS = 30
CLOUD_DRAWS = 16
EMPTY_GRID = 30


@dataclass
class ModelFacts:
    """What the lesson measures on one model (see the module docstring).

    Attributes:
        name: the model's name on screen.
        variational: a VAE-like model (has a posterior and a prior).
        latent_dim: size of z.
        spread: largest per-dimension span of mu (0.5-99.5 percentile), units of z.
        empty_share: share of the code box's 30 x 30 cells holding no test code (2-D), else None.
        inside_circle: share of codes with ||mu|| <= 3.
        sample_real: sampler -> share of its decoded samples judged real, in [0, 1].
        sample_labels: sampler -> (10,) counts of the classifier's labels of those samples.
        path_real: share of in-between path images judged real.
        path_not_real: (PATH_PAIRS,) in-between images judged not real, per pair.
        path_pairs: (PATH_PAIRS, 2) test indices of the pairs' ends.
        cloud_same: share of posterior draws decoded to the mean's label (None for an AE).
    """

    name: str
    variational: bool
    latent_dim: int
    spread: float
    empty_share: float | None
    inside_circle: float
    sample_real: dict = field(default_factory=dict)
    sample_labels: dict = field(default_factory=dict)
    path_real: float = 0.0
    path_not_real: np.ndarray | None = None
    path_pairs: np.ndarray | None = None
    cloud_same: float | None = None

    @property
    def short(self) -> str:
        """"VAE" or "AE"."""
        return "VAE" if self.variational else "AE"

    def top3(self, sampler: str = "prior") -> float:
        """Share of the three commonest labels among ``sampler``'s samples."""
        counts = np.sort(self.sample_labels[sampler])[::-1]
        return float(counts[:3].sum() / max(1, counts.sum()))

    def rarest(self, sampler: str = "prior") -> float:
        """Share of the rarest label among ``sampler``'s samples."""
        counts = self.sample_labels[sampler]
        return float(counts.min() / max(1, counts.sum()))


def path_pairs(test_labels: np.ndarray, n: int = PATH_PAIRS, seed: int = 0) -> np.ndarray:
    """(n, 2) seeded pairs of test indices with different labels (the same for every model)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        i, j = rng.integers(0, len(test_labels), 2)
        if test_labels[i] != test_labels[j]:
            out.append((int(i), int(j)))
    return np.array(out)


@torch.inference_mode()
def sample_judgement(model: Autoencoder, judge: RealismJudge, sampler: str, mu: np.ndarray, k: int = SAMPLES,
                     seed: int = SEED, y: int | None = None) -> tuple[float, np.ndarray]:
    """Draw ``k`` codes by ``sampler`` (:func:`explorer.core.sampling.sample_codes`, seeded),
    decode each (decoder mean) and judge the images: the one measurement behind every
    "share judged real" of samples on screen.

    Args:
        model: any model of the family.
        judge: the validated judge (:class:`explorer.core.realism.RealismJudge`).
        sampler: a key of :data:`explorer.core.sampling.SAMPLERS` ("prior": N(0, I)).
        mu: (N, D) the model's test codes (the fitted Gaussian and the box follow them;
            N(0, I) takes only D from them).
        k: samples; seed: seed of the draw (the same for every model of a latent size).
        y: a conditional model's label, decoded with every sample (ignored otherwise).

    Returns:
        (share judged real in [0, 1], (10,) counts of the classifier's labels).

    Raises:
        ValueError: an unknown sampler, k < 1, fewer than two codes, or a conditional model without y.
    """
    if model.is_conditional and y is None:
        raise ValueError("a conditional model's samples need a label y")
    z = torch.as_tensor(sample_codes(sampler, np.asarray(mu, dtype=np.float32), k, seed))
    labels = torch.full((k,), int(y), dtype=torch.long) if model.is_conditional else None
    _, real, predicted = judge.judge(model.decode_mean(z, labels))
    return float(real.mean()), np.bincount(predicted, minlength=10)


@torch.inference_mode()
def model_facts(model: Autoencoder, name: str, mu: np.ndarray, logvar: np.ndarray | None, judge: RealismJudge,
                test_labels: np.ndarray, samples: int = SAMPLES, seed: int = 0) -> ModelFacts:
    """Measure :class:`ModelFacts` for an unconditional ``model`` from its test codes.

    Args:
        model: the model (eval mode, not conditional).
        name: its name on screen.
        mu: (N, D) encoder means of the test split; logvar (N, D) or None (AE).
        judge: the validated judge.
        test_labels: (N,) labels of the test split.
        samples: decoded samples per sampler.
        seed: seed of every draw.

    Raises:
        ValueError: a conditional model (its decoder needs a label).
    """
    if model.is_conditional:
        raise ValueError("the lesson's facts are measured on unconditional models")
    mu = np.asarray(mu, dtype=np.float32)
    low, high = code_box(mu)
    empty = None
    if mu.shape[1] == 2:
        hist, _, _ = np.histogram2d(mu[:, 0], mu[:, 1], bins=EMPTY_GRID, range=[[low[0], high[0]], [low[1], high[1]]])
        empty = float((hist == 0).mean())
    facts = ModelFacts(name, model.is_variational, mu.shape[1], float((high - low).max()), empty,
                       float((np.linalg.norm(mu, axis=1) <= 3.0).mean()))

    def decode(z):
        return model.decode_mean(torch.as_tensor(np.asarray(z), dtype=torch.float32), None)

    for sampler in SAMPLERS:
        facts.sample_real[sampler], facts.sample_labels[sampler] = sample_judgement(model, judge, sampler, mu,
                                                                                    samples, seed)
    pairs = path_pairs(np.asarray(test_labels), seed=seed)
    t = torch.linspace(0, 1, PATH_STEPS)[1:-1, None]
    z = torch.cat([(1 - t) * torch.as_tensor(mu[i]) + t * torch.as_tensor(mu[j]) for i, j in pairs])
    real = judge.judge(decode(z))[1].reshape(len(pairs), -1)
    facts.path_real, facts.path_not_real, facts.path_pairs = float(real.mean()), (~real).sum(1), pairs
    if logvar is not None:
        rng = np.random.default_rng(seed)
        index = rng.choice(len(mu), CLOUD_DIGITS, replace=False)
        sigma = np.exp(0.5 * np.asarray(logvar[index], dtype=np.float32))
        eps = rng.standard_normal((CLOUD_DIGITS, CLOUD_DRAWS, mu.shape[1])).astype(np.float32)
        draws = (mu[index][:, None] + sigma[:, None] * eps).reshape(-1, mu.shape[1])
        mean_labels = judge.judge(decode(mu[index]))[2]
        draw_labels = judge.judge(decode(draws))[2].reshape(CLOUD_DIGITS, CLOUD_DRAWS)
        facts.cloud_same = float((draw_labels == mean_labels[:, None]).mean())
    return facts


def best_path_ends(left: ModelFacts, right: ModelFacts) -> tuple[int, int]:
    """Test indices of the measured pair whose left path has the most in-between images
    judged not real beyond the right's (ties: more on the left). Found by the measure,
    not by hand."""
    gain = left.path_not_real.astype(int) * 100 - right.path_not_real.astype(int) * 100 + left.path_not_real
    i = int(np.argmax(gain))
    return int(left.path_pairs[i, 0]), int(left.path_pairs[i, 1])


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One sentence of the lesson and the number behind it.

    Attributes:
        id: stable name (JSON, tests).
        step: the lesson step (0-based) it belongs to.
        pair: "screen" (measured on the pair on screen) or "z10" (on the shipped z = 10 AE and VAE).
        condition: in words, what the number must meet.
        measure: (left facts, right facts) -> (values dict, holds).
        holds_text / fails_text: the sentence when the number meets / does not meet the
            condition; ``str.format`` fields: the values, and L / R (the models' short names).
    """

    id: str
    step: int
    condition: str
    measure: Callable[[ModelFacts, ModelFacts], tuple[dict, bool]]
    holds_text: str
    fails_text: str
    pair: str = "screen"


@dataclass
class ClaimResult:
    """A claim on one pair: its sentence as shown, its values, the condition, whether it holds."""

    id: str
    step: int
    text: str
    value: dict
    condition: str
    holds: bool

    def as_json(self) -> dict:
        """The line ``lesson_check`` prints."""
        return {"id": self.id, "step": self.step + 1, "text": self.text, "value": self.value,
                "condition": self.condition, "holds": self.holds}


def _spread(a, b):
    return {"a": round(a.spread, 2), "b": round(b.spread, 2)}, a.spread >= 3 * b.spread


def _empty(a, b):
    if a.empty_share is None or b.empty_share is None:
        return {"a": None, "b": None}, False
    return {"a": round(a.empty_share, 3), "b": round(b.empty_share, 3)}, a.empty_share >= b.empty_share + 0.1


def _piles(a, b):
    return {"a": round(a.top3(), 3), "b": round(b.top3(), 3)}, a.top3() >= b.top3() + 0.15


def _prior_real(a, b):
    ra, rb = a.sample_real["prior"], b.sample_real["prior"]
    return {"a": round(ra, 3), "b": round(rb, 3)}, 0.0 <= rb - ra <= 0.15


def _fitted(a, b):
    ra, rb = a.sample_real["fitted"], b.sample_real["prior"]
    return {"a": round(ra, 3), "b": round(rb, 3), "a_box": round(a.sample_real["box"], 3)}, abs(ra - rb) <= 0.1


def _circle(a, b):
    return {"a": round(a.inside_circle, 3), "b": round(b.inside_circle, 3)}, b.inside_circle >= 0.95


def _covers(a, b):
    return {"a": round(a.rarest(), 3), "b": round(b.rarest(), 3)}, b.rarest() >= 0.04 > a.rarest()


def _paths(a, b):
    return ({"a": round(a.path_real, 3), "b": round(b.path_real, 3), "n": len(a.path_pairs)},
            a.path_real >= b.path_real - 0.05)


def _cloud(a, b):
    v = next((f for f in (b, a) if f.cloud_same is not None), None)
    if v is None:
        return {"a": None, "n": CLOUD_DIGITS}, False
    return {"a": round(v.cloud_same, 3), "n": CLOUD_DIGITS, "model": v.short}, v.cloud_same >= 0.9


def _z10_gap(a, b):
    ra, rb = a.sample_real["fitted"], b.sample_real["prior"]
    return {"a": round(ra, 3), "b": round(rb, 3)}, rb >= ra + 0.15


def _z10_ae_prior(a, b):
    return ({"a": round(a.sample_real["prior"], 3), "fitted": round(a.sample_real["fitted"], 3),
             "box": round(a.sample_real["box"], 3)}, a.sample_real["prior"] <= a.sample_real["fitted"] - 0.1)


def _z10_paths(a, b):
    return {"a": round(a.path_real, 3), "b": round(b.path_real, 3), "n": len(a.path_pairs)}, \
        abs(a.path_real - b.path_real) <= 0.1


#: The sentences are short: each step's, with its numbers, fits the lesson's box above the
#: maps on a 1366x768 screen without scrolling (tests/browser/test_lesson_browser.py); what they
#: leave out is in docs/lesson.md and the Theory page.
CLAIMS = (
    Claim("codes_spread", 0, "left spread >= 3 x right spread", _spread,
          "The {L}'s codes spread over **{a:.0f}** units of z, the {R}'s over **{b:.1f}**: nothing in the {L}'s "
          "loss says where its codes should go.",
          "The {L}'s codes spread over **{a:.1f}** units of z, the {R}'s over **{b:.1f}**: not the large "
          "difference between an AE and a VAE this step is about."),
    Claim("empty_space", 0, "left empty share >= right empty share + 0.10 (2-D maps)", _empty,
          "**{a:.0%}** of the box the {L}'s codes span holds no test digit (the {R}'s: **{b:.0%}**): empty gaps "
          "between its clusters.",
          "{a} of the box the {L}'s codes span holds no test digit (the {R}'s: {b}): not more empty space than "
          "the {R}'s."),
    Claim("prior_piles_up", 1, "left top-3 digit share >= right + 0.15", _piles,
          "An AE has no prior; from N(0, I) the {L}'s samples pile up on a few digits: the top three make "
          "**{a:.0%}** (the {R}'s: **{b:.0%}**).",
          "The three commonest digits make **{a:.0%}** of the {L}'s N(0, I) samples and **{b:.0%}** of the "
          "{R}'s: no pile-up on a few digits here."),
    Claim("prior_real_small_gap", 1, "0 <= right share judged real - left share <= 0.15", _prior_real,
          "Judged real: **{a:.0%}** of the {L}'s samples, **{b:.0%}** of the {R}'s: a small gap. What differs "
          "is *which* digits.",
          "Judged real: **{a:.0%}** of the {L}'s N(0, I) samples, **{b:.0%}** of the {R}'s."),
    Claim("fitted_gaussian", 1, "|left share judged real (fitted Gaussian) - right share (N(0, I))| <= 0.10",
          _fitted,
          "From a Gaussian fitted to its codes, **{a:.0%}** of the {L}'s samples look real (uniform over their "
          "box: **{a_box:.0%}**), about the {R}'s **{b:.0%}** (Ghosh et al. 2019).",
          "Sampled from a Gaussian fitted to its own codes, **{a:.0%}** of the {L}'s samples look real "
          "(uniform over its box: **{a_box:.0%}**), against **{b:.0%}** of the {R}'s prior samples."),
    Claim("vae_inside_circle", 2, "right share of codes with |mu| <= 3 >= 0.95", _circle,
          "The KL term pulls each posterior towards N(0, I): **{b:.0%}** of the {R}'s codes lie inside its "
          "3-sigma circle (the {L}'s: **{a:.0%}**).",
          "Only **{b:.0%}** of the {R}'s codes lie inside the prior's 3-sigma circle (the {L}'s: **{a:.0%}**)."),
    Claim("vae_prior_covers_digits", 3, "right's rarest digit >= 4 % of its prior samples > left's", _covers,
          "Decoded by the {R}, its N(0, I) samples give every digit: the rarest still makes **{b:.0%}** (the "
          "{L}'s rarest: **{a:.0%}**).",
          "Decoded by the {R}, the rarest digit makes **{b:.0%}** of its prior samples (the {L}'s: **{a:.0%}**): "
          "not a clear difference in how the samples cover the digits."),
    Claim("paths_real", 4, "left share of in-between images judged real >= right - 0.05", _paths,
          "Over {n} random pairs of test digits, **{a:.0%}** of the {L}'s in-between images look real and "
          "**{b:.0%}** of the {R}'s: in 2-D most {L} paths cross no hole. The pair shown is the one whose {L} "
          "path has the most images judged not real.",
          "Over {n} random pairs of test digits, **{a:.0%}** of the {L}'s in-between images look real and "
          "**{b:.0%}** of the {R}'s: the {L}'s straight paths cross more empty space."),
    Claim("cloud_same_digit", 5, "share of posterior draws decoded to the mean's digit >= 0.90", _cloud,
          "Over {n} test digits, **{a:.0%}** of the draws z = mu + sigma * eps decode to the same digit as mu; "
          "an AE has no cloud.",
          "Over {n} test digits, only {a} of the posterior draws decode to the same digit as mu (or neither "
          "model has a posterior)."),
    Claim("z10_sampling_gap", 7, "right's prior share judged real >= left's fitted-Gaussian share + 0.15", _z10_gap,
          "In ten dimensions the gap is large: **{a:.0%}** of the {L}'s samples from its fitted Gaussian look "
          "real, **{b:.0%}** of the {R}'s from its prior. The {L}'s codes fill only part of that Gaussian.",
          "From a Gaussian fitted to its codes, **{a:.0%}** of the {L}'s samples look real; from its prior, "
          "**{b:.0%}** of the {R}'s: a small gap, even in ten dimensions.", pair="z10"),
    Claim("z10_ae_prior", 7, "left's N(0, I) share judged real <= its fitted-Gaussian share - 0.10", _z10_ae_prior,
          "From N(0, I) only **{a:.0%}** of the {L}'s samples look real (its codes' box: **{box:.0%}**): "
          "without a prior, one must guess.",
          "From N(0, I), **{a:.0%}** of the {L}'s samples look real, from a fitted Gaussian **{fitted:.0%}**.",
          pair="z10"),
    Claim("z10_paths", 7, "|left share of in-between images judged real - right's| <= 0.10", _z10_paths,
          "Paths differ less: **{a:.0%}** of the {L}'s in-between images look real, **{b:.0%}** of the {R}'s "
          "({n} pairs). The gap is in sampling.",
          "Over {n} random pairs, **{a:.0%}** of the {L}'s in-between images look real, **{b:.0%}** of the "
          "{R}'s: a clear difference on paths too.", pair="z10"),
)


def _fmt(values: dict) -> dict:
    return {k: ("n/a" if v is None else v) for k, v in values.items()}


def evaluate_claims(left: ModelFacts, right: ModelFacts, steps: set[int] | None = None,
                    pair: str | None = None) -> list[ClaimResult]:
    """Every claim (of ``steps``, or all; of ``pair``, or all) on the pair, left first."""
    out = []
    for c in CLAIMS:
        if (steps is not None and c.step not in steps) or (pair is not None and c.pair != pair):
            continue
        values, holds = c.measure(left, right)
        names = {"L": left.short if left.short != right.short else f"left {left.short}",
                 "R": right.short if left.short != right.short else f"right {right.short}"}
        try:
            text = (c.holds_text if holds else c.fails_text).format(**_fmt(values), **names)
        except (ValueError, TypeError):  # a value n/a in a numeric field
            text = c.fails_text.format(**{k: "n/a" if v is None else v for k, v in values.items()}, **names)
        out.append(ClaimResult(c.id, c.step, text, values, c.condition, bool(holds)))
    return out
