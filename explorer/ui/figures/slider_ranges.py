"""Slider ranges of a 2-D latent space: the range and step of each axis for the decoder's
sliders, the map's axes and where a click snaps to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Half-width of the VAE's slider range: the prior N(0, I) puts 99.99% of a
#: coordinate inside [-4, 4].
VAE_SLIDER_HALF_RANGE = 4.0
#: Slider step of a VAE's latent axes.
VAE_SLIDER_STEP = 0.05
#: About this many slider steps across an AE's latent axis.
SLIDER_STEPS = 160


def _nice_step(span: float, steps: int) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= span / steps."""
    raw = span / steps
    power = 10.0 ** np.floor(np.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * power >= raw * (1 - 1e-9):
            return float(m * power)
    return float(10 * power)


@dataclass(frozen=True)
class LatentRange:
    """Range and step of one latent axis for the sliders and the map.

    Attributes:
        low, high: the range (multiples of 10 * step, so rounded out).
        step: slider step; clicked positions snap to it.
    """

    low: float
    high: float
    step: float

    def snap(self, value: float) -> float:
        """``value`` clamped to the range and rounded to the step grid."""
        value = min(max(float(value), self.low), self.high)
        return round(round((value - self.low) / self.step) * self.step + self.low, 10)


def latent_ranges(mu: np.ndarray, stochastic: bool) -> tuple[LatentRange, LatentRange]:
    """Slider ranges of a 2-D latent space.

    A VAE (``stochastic``) gets [-4, 4] by 0.05 (the prior's range), widened to take in
    every mu (rounded out to 0.5). An AE has no prior: its range is the extent of its
    codes, rounded out, with a "nice" step giving about :data:`SLIDER_STEPS` steps.

    Args:
        mu: (N, 2) encoder means.
        stochastic: True for a VAE.

    Returns:
        One :class:`LatentRange` per axis.
    """
    ranges = []
    for j in range(2):
        lo, hi = float(mu[:, j].min()), float(mu[:, j].max())
        if stochastic:
            lo, hi = min(lo, -VAE_SLIDER_HALF_RANGE), max(hi, VAE_SLIDER_HALF_RANGE)
        if not hi > lo:
            lo, hi = lo - 1, hi + 1
        step = VAE_SLIDER_STEP if stochastic else _nice_step(hi - lo, SLIDER_STEPS)
        unit = 10 * step
        ranges.append(LatentRange(float(np.floor(lo / unit) * unit), float(np.ceil(hi / unit) * unit), step))
    return ranges[0], ranges[1]
