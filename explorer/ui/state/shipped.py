"""The shipped checkpoints the model-kind pages show, by file name, with the command that
makes each one, so a missing file is reported with what to run."""

from __future__ import annotations

import json
from typing import Callable

import pandas as pd
import streamlit as st

from explorer.core.checkpoints import CheckpointError
from explorer.core.metrics import ACTIVE_UNIT_THRESHOLD
from explorer.ui.state import registry
from explorer.ui.state.model_entry import ModelEntry

_COMMON = "python -m explorer.cli.train --batch-size 128 --lr 1e-3 --lr-schedule cosine --seed 0"

#: File name in checkpoints/ -> the command that made it (as listed in checkpoints/README.md,
#: which tests/ui/test_shipped_checkpoints.py holds it to; the two legacy ``.pt`` files are remade
#: as ``.safetensors``).
COMMANDS: dict[str, str] = {
    "mnist_vae_z2.safetensors": f"{_COMMON} --model vae --latent-dim 2 --epochs 60 --out checkpoints/mnist_vae_z2.safetensors",
    "mnist_ae_z2.safetensors": f"{_COMMON} --model ae --latent-dim 2 --epochs 30 --out checkpoints/mnist_ae_z2.safetensors",
    "mnist_cvae_z2.safetensors": f"{_COMMON} --model cvae --latent-dim 2 --epochs 60 "
                                 "--out checkpoints/mnist_cvae_z2.safetensors",
    "mnist_ae_z10.safetensors": f"{_COMMON} --model ae --latent-dim 10 --epochs 60 "
                                "--out checkpoints/mnist_ae_z10.safetensors",
    "mnist_dae_z2.safetensors": f"{_COMMON} --model ae --latent-dim 2 --epochs 30 --input-noise masking "
                                "--noise-level 0.5 --out checkpoints/mnist_dae_z2.safetensors",
    **{f"mnist_vae_z{z}.safetensors": f"{_COMMON} --model vae --latent-dim {z} --epochs 60 "
                                      f"--out checkpoints/mnist_vae_z{z}.safetensors" for z in (5, 10, 20)},
    **{f"mnist_vae_z10_beta{b}.safetensors": f"{_COMMON} --model vae --latent-dim 10 --beta {b} --epochs 60 "
                                             f"--out checkpoints/mnist_vae_z10_beta{b}.safetensors" for b in ("0.5", "4")},
    "mnist_cae_z2.safetensors": f"{_COMMON} --model cae --contraction 1 --latent-dim 2 --epochs 15 "
                                "--out checkpoints/mnist_cae_z2.safetensors",
    "mnist_conv_vae_z2.safetensors": f"{_COMMON} --model vae --architecture conv --latent-dim 2 --epochs 100 "
                                     "--device cuda --out checkpoints/mnist_conv_vae_z2.safetensors",
    "mnist_strided_conv_vae_z2.safetensors": f"{_COMMON} --model vae --architecture strided_conv --hidden 256 256 "
                                             "--latent-dim 2 --epochs 160 --out checkpoints/mnist_strided_conv_vae_z2.safetensors",
    "mnist_m1m2_l100.safetensors": "python -m explorer.cli.train --model m2 --m1 checkpoints/mnist_vae_z20.safetensors "
                                   "--labels 100 --hidden 500 --latent-dim 50 --decoder-std 0.7 --epochs 12 "
                                   "--batch-size 100 --lr 1e-3 --lr-schedule cosine --seed 0 "
                                   "--out checkpoints/mnist_m1m2_l100.safetensors",
    "mnist_m1m2_z2_l100.safetensors": "python -m explorer.cli.train --model m2 "
                                      "--m1 checkpoints/mnist_vae_z20.safetensors --labels 100 --hidden 500 "
                                      "--latent-dim 2 --decoder-std 0.7 --epochs 6 --batch-size 100 --lr 1e-3 "
                                      "--lr-schedule cosine --seed 0 --out checkpoints/mnist_m1m2_z2_l100.safetensors",
    "mnist_linear_ae_z2.safetensors": "python -m explorer.cli.train --model ae --latent-dim 2 --hidden "
                                      "--likelihood gaussian_identity --epochs 30 --batch-size 100 --lr 3e-2 "
                                      "--lr-schedule cosine --seed 0 --out checkpoints/mnist_linear_ae_z2.safetensors",
}

#: The VAEs of the Latent size and beta page: (file name, short name), z = 2 first.
LATENT_SIZE_VAES: tuple[tuple[str, str], ...] = (
    ("mnist_vae_z2.safetensors", "z=2"), ("mnist_vae_z5.safetensors", "z=5"), ("mnist_vae_z10.safetensors", "z=10"),
    ("mnist_vae_z20.safetensors", "z=20"), ("mnist_vae_z10_beta0.5.safetensors", "z=10, beta=0.5"),
    ("mnist_vae_z10_beta4.safetensors", "z=10, beta=4"),
)


def missing_message(file_name: str) -> str:
    """What to tell a person when ``checkpoints/<file_name>`` is absent or unusable."""
    command = COMMANDS.get(file_name)
    how = f" Make it with:\n\n```\n{command}\n```" if command else ""
    return f"The checkpoint `checkpoints/{file_name}` is missing or unusable.{how}"


def load_shipped(file_name: str) -> tuple[ModelEntry | None, str | None]:
    """The shipped checkpoint ``checkpoints/<file_name>`` as a :class:`ModelEntry`.

    Returns:
        (entry, None) when it loads; (None, message) when it is missing or invalid (the
        message names the file, the reason and the command that makes it).
    """
    path = registry.CHECKPOINT_DIR / file_name
    if not path.is_file():
        return None, missing_message(file_name)
    try:
        return registry.resolve_model(f"{registry.FILE_PREFIX}{path}"), None
    except CheckpointError as exc:
        return None, f"{missing_message(file_name)}\n\nReason: {exc}"


def require_shipped(file_name: str) -> ModelEntry:
    """:func:`load_shipped`, or an error on the page and ``st.stop()`` when it fails."""
    entry, message = load_shipped(file_name)
    if entry is None:
        st.error(message, icon=":material/error:")
        st.stop()
    return entry


#: Checkpoint metric of the importance-sampled -log p(x) (Burda et al. 2015), when present.
IW_KEY = "iw_nll"
COLUMN_HELP = {
    "z": "Latent dimension: the size of the code z.",
    "beta": "Weight of the KL term in the training loss (1: the plain VAE).",
    "test -ELBO": "Reconstruction + KL on the 10,000 test digits, nats per image (one z drawn from q(z|x) per "
                  "image): an upper bound on -log p(x). Lower is better.",
    "reconstruction": "-log p(x|z): how well the decoder explains the test image from its code, nats per image.",
    "KL": "KL(q(z|x) || p(z)): how far the posterior lies from the prior N(0, I), nats per image (Appendix B).",
    "-log p(x) (IS)": "Importance-sampled estimate of -log p(x) (Burda et al. 2015, k-sample bound), nats per "
                      "image: tighter than the -ELBO. n/a: not measured for this checkpoint.",
    "active units": f"Dimensions d with Var over test images of mu_d > {ACTIVE_UNIT_THRESHOLD} (Burda et al. 2015, "
                    "Sec. 5.2): the ones the encoder uses; the rest stay at the prior.",
}


#: Figures measured after training (not stored in the checkpoint files), by file name.
EVALUATIONS_FILE = "evaluations.json"


def stored_iw_nll(file_name: str) -> float | None:
    """The importance-sampled -log p(x) of ``checkpoints/<file_name>`` recorded in
    ``checkpoints/evaluations.json`` (nats per image, k = 5000; the command that measured
    it is in that file), or None when none is recorded or the file cannot be read."""
    try:
        value = json.loads((registry.CHECKPOINT_DIR / EVALUATIONS_FILE).read_text())["test_iw_nll"][file_name]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def vae_table(models: dict[str, ModelEntry], active_units: Callable[[ModelEntry], int]) -> pd.DataFrame:
    """One row per VAE: z, beta, the checkpoint's stored test metrics in nats per image
    (-ELBO, reconstruction, KL, and the importance-sampled -log p(x) under :data:`IW_KEY`,
    else as recorded for its file by :func:`stored_iw_nll`; "n/a" where neither has one) and ``active_units(entry)`` as "k of z".

    Args:
        models: name -> entry, in row order.
        active_units: counts an entry's active units (Burda et al. 2015).

    Returns:
        A DataFrame with the columns of :data:`COLUMN_HELP`.
    """
    rows = []
    for name, entry in models.items():
        config, metrics = entry.checkpoint.model_config, entry.checkpoint.metrics
        rows.append({"z": config.latent_dim, "beta": f"{config.beta:g}",
                     "test -ELBO": _number(metrics.get("test_neg_elbo")),
                     "reconstruction": _number(metrics.get("test_reconstruction")),
                     "KL": _number(metrics.get("test_kl")), "-log p(x) (IS)": _number(metrics.get(IW_KEY, stored_iw_nll(entry.label))),
                     "active units": f"{active_units(entry)} of {config.latent_dim}"})
    return pd.DataFrame(rows)
