"""Paths the tests share: the repository root and the shipped z = 2 checkpoints."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VAE_CHECKPOINT = REPO / "checkpoints" / "mnist_vae_z2.safetensors"
AE_CHECKPOINT = REPO / "checkpoints" / "mnist_ae_z2.safetensors"
