"""The shipped checkpoints the family pages show, by file name, with the command that
makes each one, so a missing file is reported with what to run."""

from __future__ import annotations

import streamlit as st

from explorer.core.checkpoints import CheckpointError
from explorer.ui import registry
from explorer.ui.registry import ModelEntry

_COMMON = "python -m explorer.cli.train --batch-size 128 --lr 1e-3 --lr-schedule cosine --seed 0"

#: File name in checkpoints/ -> the command that made it (as listed in checkpoints/README.md;
#: the two legacy ``.pt`` files are remade as ``.safetensors``).
COMMANDS: dict[str, str] = {
    "mnist_vae_z2.pt": f"{_COMMON} --model vae --latent-dim 2 --epochs 60 --out checkpoints/mnist_vae_z2.safetensors",
    "mnist_ae_z2.pt": f"{_COMMON} --model ae --latent-dim 2 --epochs 30 --out checkpoints/mnist_ae_z2.safetensors",
    "mnist_cvae_z2.safetensors": f"{_COMMON} --model cvae --latent-dim 2 --epochs 60 "
                                 "--out checkpoints/mnist_cvae_z2.safetensors",
    "mnist_dae_z2.safetensors": f"{_COMMON} --model ae --latent-dim 2 --epochs 30 --input-noise masking "
                                "--noise-level 0.5 --out checkpoints/mnist_dae_z2.safetensors",
    **{f"mnist_vae_z{z}.safetensors": f"{_COMMON} --model vae --latent-dim {z} --epochs 60 "
                                      f"--out checkpoints/mnist_vae_z{z}.safetensors" for z in (5, 10, 20)},
    **{f"mnist_vae_z10_beta{b}.safetensors": f"{_COMMON} --model vae --latent-dim 10 --beta {b} --epochs 60 "
                                             f"--out checkpoints/mnist_vae_z10_beta{b}.safetensors" for b in ("0.5", "4")},
}

#: The VAEs of the Latent size and beta page: (file name, short name), z = 2 first.
VAE_FAMILY: tuple[tuple[str, str], ...] = (
    ("mnist_vae_z2.pt", "z=2"), ("mnist_vae_z5.safetensors", "z=5"), ("mnist_vae_z10.safetensors", "z=10"),
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
