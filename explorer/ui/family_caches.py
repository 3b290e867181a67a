"""The family pages' caches now live in :mod:`explorer.ui.caches` (the one module with
``st.cache_*``); their names stay importable from here."""

from explorer.ui.caches import CURVE_IMAGES, contraction_numbers, denoising_curve, test_latent_usage

__all__ = ["CURVE_IMAGES", "contraction_numbers", "denoising_curve", "test_latent_usage"]
