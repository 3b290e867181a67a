"""The Denoising page's computed parts: the corrupted digits with each model's
reconstruction and error, the noise level the page opens on, and the stacked (denoising)
autoencoders' filters and test errors (Vincent et al. 2008, 2010)."""

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
import torch

from explorer.core.model_kinds import denoising_error, largest_gap_level, noisy_copy, reconstruct
from explorer.core.images import tiled_png
from explorer.core.stack_files import StackFileError
from explorer.ui.state import registry
from explorer.ui.state.caches import PRETRAINING_DIR, RESULTS_FILE, SHOWN_FILTERS, STACK_FILES, stack_filters
from explorer.ui.state.model_entry import ModelEntry


def denoised_digits(models: dict[str, ModelEntry], clean: torch.Tensor, noise: str, level: float,
                    seed: int) -> tuple[dict[str, torch.Tensor], bytes]:
    """Corrupt ``clean`` and let each model reconstruct it.

    Args:
        models: name -> model entry (AEs with 2-D codes or any of the family).
        clean: (B, 1, 28, 28) test digits, pixels in [0, 1].
        noise: ``"masking"`` or ``"gaussian"`` (:func:`explorer.core.model_kinds.noisy_copy`).
        level: masking probability or noise std.
        seed: seed of the corruption.

    Returns:
        (name -> (B,) error of each reconstruction against the clean digit, -log p(x_clean|z)
        in nats; one PNG of rows clean, corrupted, then each model's reconstruction, B per row).
    """
    noisy = noisy_copy(clean, noise, level, seed=seed)
    with torch.inference_mode():
        errors = {name: denoising_error(e.model, clean, noisy) for name, e in models.items()}
    recons = {name: reconstruct(entry.model, noisy) for name, entry in models.items()}
    tiles = torch.cat([clean, noisy, *recons.values()])
    return errors, tiled_png(tiles, nrow=len(clean))


def opening_level(levels, curves: dict[str, np.ndarray]) -> tuple[int, float]:
    """(index, level) where the plain AE's error curve lies furthest above the denoising
    AE's (:func:`explorer.core.model_kinds.largest_gap_level`): where the page opens."""
    return largest_gap_level(levels, curves["plain AE"], curves["denoising AE"])


STACKED_EXPLAIN = (
    "**Stacked (denoising) autoencoders** (Bengio et al. 2007; Vincent et al. 2008, 2010) pretrain a classifier "
    "784-500-500-10 one layer at a time, without labels: each layer is an autoencoder of the codes below it; then "
    "the whole stack is **fine-tuned** with a few labelled digits. With **masking** noise (a share of each layer's "
    "inputs set to 0, the loss against the clean input) it is a stacked denoising AE (SDAE), else a stacked AE (SAE). "
    "A **filter** is one first-layer unit's 784 weights drawn as a 28x28 image (each scaled "
    "on its own: black lowest, white highest). **Kurtosis**: the mean excess kurtosis of each filter's weights, 0 for "
    "random Gaussian weights, large when a filter is near 0 except a few strong strokes (localised detectors).")


def stacked_filters_section() -> None:
    """The shipped stacks' first-layer filters for masking 0, 0.25 and 0.5, their kurtosis
    (measured here) and the test errors their runs printed."""
    st.subheader("Pretraining a classifier: stacked denoising autoencoders")
    folder = registry.CHECKPOINT_DIR / PRETRAINING_DIR
    files = [folder / name for name in STACK_FILES.values()] + [folder / RESULTS_FILE]
    try:
        shipped = stack_filters(str(folder), tuple(f.stat().st_mtime for f in files))
    except (OSError, StackFileError) as exc:
        reason = f"{Path(exc.filename).name} is missing" if isinstance(exc, OSError) and exc.filename else str(exc)[:160]
        st.info(f"The pretrained stacks in checkpoints/{PRETRAINING_DIR}/ are missing or unusable ({reason}). The "
                "commands that make them are in docs/stacked-autoencoders.md.", icon=":material/info:")
        return
    runs = shipped["runs"]
    first = next(iter(shipped["stacks"].values()))["config"]

    def errors(noise: float, pretrain_epochs: int) -> dict[int, float]:
        return {r["labels"]: r["test_error"] for r in runs
                if r["noise"] == noise and r["pretrain_epochs"] == pretrain_epochs and r.get("seed") == first.seed}

    rows = {"no pretraining": (errors(0.0, 0), shipped["initial"])}
    rows.update({("SAE" if n == 0 else f"SDAE, masking {n:g}"): (errors(n, s["config"].pretrain_epochs), s["all"])
                 for n, s in shipped["stacks"].items()})
    counts = sorted({c for e, _ in rows.values() for c in e})
    table = pd.DataFrame({**{f"{c:,} labels": [100 * e[c] if c in e else None for e, _ in rows.values()]
                             for c in counts},
                          "kurtosis": [k for _, k in rows.values()]}, index=list(rows))
    text_col, table_col = st.columns([3, 2], gap="medium")
    with table_col:
        st.dataframe(table.style.format("{:.1f}", na_rep="not run").format("{:.2f}", subset=["kurtosis"]),
                     key="sdae_error_table")
    with text_col:
        st.caption(STACKED_EXPLAIN)
        st.caption(f"**Table**: test error in %, the share of the 10,000 test digits misclassified after fine-tuning with that many "
                   f"labels (balanced over the digits, seed {first.seed}), measured when each run was trained "
                   f"({first.pretrain_epochs} pretraining epochs per layer on the 60,000 unlabelled training images, "
                   f"{first.finetune_epochs} fine-tuning epochs). 'No pretraining' fine-tunes the same network from "
                   "its random initial weights (their kurtosis beside it). Commands, times: docs/stacked-autoencoders.md.")
    # a narrow spacer column keeps the grids and their captions within a 768 px high screen
    for col, (noise, stack) in zip(st.columns([1] * len(STACK_FILES) + [0.3]), shipped["stacks"].items()):
        with col:
            name = "SAE (no noise)" if noise == 0 else f"SDAE, masking {noise:g}"
            st.image(stack["png"], output_format="PNG", width="stretch",
                     caption=f"{name}: kurtosis {stack['shown']:.2f} (these {SHOWN_FILTERS} filters; all "
                             f"{stack['config'].hidden_sizes[0]}: {stack['all']:.2f})")
