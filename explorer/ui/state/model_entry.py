""":class:`ModelEntry`, one model as views see it, and the key the caches know it by.

Its own module so that both the registry (:mod:`explorer.ui.state.registry`, which makes
entries) and the caches (:mod:`explorer.ui.state.caches`, which hash them by their key)
can import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.core.checkpoints import Checkpoint
from explorer.core.models import Autoencoder


@dataclass(frozen=True)
class ModelEntry:
    """One model as views see it, made by :func:`explorer.ui.state.registry.resolve_model`.

    Attributes:
        key: its identity for the caches, which hash an entry by this alone
            (:data:`explorer.ui.state.caches.BY_ENTRY_KEY`); it identifies the weights, and the
            label, of the model the entry holds:

            - ``file:<path>@<mtime_ns>`` for a checkpoint file: the model comes from
              :func:`explorer.ui.state.caches.checkpoint_file`, loaded once per (path,
              modification time in ns), so every entry with this key holds that very
              model; a file written again (the app writes whole files, ``atomic_write``)
              has a new modification time, so a new key;
            - ``session:<name>@<uid>`` for a model trained or uploaded in this session:
              ``uid`` is a fresh random id per added model
              (:class:`explorer.ui.state.session.SessionModel`), so two sessions, or a second
              model of the same name, never share a key; models are never trained in place.
        label: its file name, or its name in this session (what URLs and downloads carry).
        checkpoint: the loaded checkpoint (model in eval mode, never trained in place).
        title: its short name for people (:mod:`explorer.ui.state.model_names`), e.g.
            ``VAE · z = 2 · shipped``; not in the caches' key (a page may retitle an entry).
    """

    key: str
    label: str
    checkpoint: Checkpoint
    title: str = ""

    @property
    def model(self) -> Autoencoder:
        """The model (eval mode)."""
        return self.checkpoint.model
