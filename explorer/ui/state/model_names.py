"""Short names of models for people: ``VAE · z = 2 · shipped``, ``β-VAE (β = 4) · z = 10 ·
shipped``, ``AE · z = 2 · trained 12:41 today``. The one place a model's shown name is
made; the file (or session-model) name goes into the help beside it
(:func:`explorer.ui.state.registry.choice_help`). Plain functions, no Streamlit: the choice
widgets show these through ``format_func`` while their values stay file paths.
"""

from __future__ import annotations

from datetime import datetime

from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.models import model_class

SEPARATOR = " · "
#: Where a model comes from, as its name ends (``{time}`` filled by :func:`when_text`).
ORIGINS = {
    "shipped": "shipped",  # a file whose bytes are the project's (checkpoints/SHA256SUMS)
    "file": "trained {time}",  # any other file in checkpoints/: time = when it was saved
    "session": "trained {time} (this session)",  # trained in this browser session, not saved
    "uploaded": "uploaded {time} (this session)",
}
#: What the parts of a name mean (for help texts).
NAME_HELP = ("The name says the model family, z = its number of latent dimensions, and where it comes from: "
             "shipped with the app, or when it was trained (saved).")


def kind_name(model_config: ModelConfig, train_config: TrainConfig | None = None) -> str:
    """The model family in a few words: ``AE``, ``Linear AE``, ``Denoising AE``, ``Conv
    VAE`` (the Keras replica), ``Strided conv VAE``, ``β-VAE (β = 4)``, ``Conditional VAE``, ``Contractive AE``, ``M2 (100 labels)``,
    ``M1+M2``...

    Args:
        model_config: the model's config.
        train_config: its training config (input noise makes a denoising AE; the number
            of known labels names an M2); None leaves those out.
    """
    kind, cls = model_config.kind, model_class(model_config.kind)
    base = {"ae": "AE", "vae": "VAE", "cvae": "Conditional VAE", "cae": "Contractive AE",
            "scae": "Stochastic CAE", "m2": "M1+M2" if model_config.m1 else "M2"}[kind]
    if train_config is not None and train_config.input_noise != "none" and kind == "ae":
        base = "Denoising AE"
    if model_config.architecture == "conv":
        base = f"Conv {base}"
    elif model_config.architecture == "strided_conv":
        base = f"Strided conv {base}"
    elif not model_config.hidden_sizes:
        base = f"Linear {base}"
    if cls.is_variational and model_config.beta != 1:
        base = (f"β-{base} (β = {model_config.beta:g})" if kind == "vae"
                else f"{base} (β = {model_config.beta:g})")
    if kind == "m2" and train_config is not None and train_config.labels is not None:
        base = f"{base} ({train_config.labels:,} labels)"
    return base


def when_text(when: float, now: datetime | None = None) -> str:
    """``12:41 today`` for a time of today, else ``2026-12-06 14:03`` (the server's local time).

    Args:
        when: seconds since the epoch.
        now: the present (default: now).
    """
    moment, now = datetime.fromtimestamp(when), now or datetime.now()
    return f"{moment:%H:%M} today" if moment.date() == now.date() else f"{moment:%Y-%m-%d %H:%M}"


def model_label(model_config: ModelConfig, train_config: TrainConfig | None, origin: str,
                when: float | None = None, now: datetime | None = None) -> str:
    """A model's short name: family, latent size, origin, e.g. ``VAE · z = 2 · shipped``.

    Args:
        model_config, train_config: the model's configs.
        origin: a key of :data:`ORIGINS`.
        when: when it was trained or saved (seconds since the epoch); None leaves the time out.
        now: the present (for "today"; default: now).

    Raises:
        KeyError: unknown origin.
    """
    time = "" if when is None else when_text(when, now)
    where = " ".join(ORIGINS[origin].format(time=time).split())  # no double space without a time
    return SEPARATOR.join((kind_name(model_config, train_config), f"z = {model_config.latent_dim}", where))


def unique_labels(labels: dict[str, str], names: dict[str, str], keep: int = 14,
                  original: frozenset[str] = frozenset()) -> dict[str, str]:
    """``labels`` (choice -> short name) made unique: where several choices share a name,
    each gets the end of its own name (``names``: file or session-model name, distinct)
    appended, e.g. ``VAE · z = 2 · shipped · …copy_of_vae_z2``; the whole name where the
    ends alone would still collide. A widget that shows the names needs them distinct: it
    tells its options apart by their shown text.

    Args:
        labels: choice -> short name.
        names: choice -> its file or session-model name.
        keep: characters of a long name's end that are appended.
        original: choices that keep their short name when they are the only such one of
            their group (a shipped file under its shipped name; its copies get the suffix).
    """
    groups: dict[str, list[str]] = {}
    for choice, label in labels.items():
        groups.setdefault(label, []).append(choice)
    out = dict(labels)
    for label, choices in groups.items():
        if len(choices) < 2:
            continue
        kept = [c for c in choices if c in original]
        if len(kept) == 1:
            choices = [c for c in choices if c != kept[0]]
        stems = {c: names[c].removesuffix(".safetensors").removesuffix(".pt") for c in choices}
        ends = {c: s if len(s) <= keep else f"…{s[-keep:]}" for c, s in stems.items()}
        short = len(set(ends.values())) == len(ends)
        for c in choices:
            out[c] = f"{label}{SEPARATOR}{ends[c] if short else names[c]}"
    return out


def distinct_titles(titles: list[str]) -> list[str]:
    """Names of models shown together (the Compare page's two maps, the Theory page's two
    sets of numbers) told apart: a name that appears again (the same model chosen twice,
    or two models whose names agree) gets ``#2``, ``#3``... after it, in order. Pass the
    choices' :func:`unique_labels` names, which tell different files apart by their file
    names already, so ``#2`` marks a second copy of one model.

    Args:
        titles: the shown name of each model, in order.
    """
    seen: dict[str, int] = {}
    out = []
    for title in titles:
        seen[title] = seen.get(title, 0) + 1
        out.append(title if seen[title] == 1 else f"{title} #{seen[title]}")
    return out
