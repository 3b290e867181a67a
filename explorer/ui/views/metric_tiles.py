"""A model's test metrics (:data:`explorer.core.metrics.METRICS`) as Streamlit metric
tiles, each with its label (unit included) and help text: only those that apply to the
model (:meth:`explorer.core.metrics.Metric.applies_to`) and have a value. The pages show
metrics through here, so they need not import the model library."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from explorer.core.metrics import METRICS, Metric


def shown_metrics(values: Mapping[str, float | None], variational: bool,
                  names: Sequence[str] | None = None) -> list[Metric]:
    """The metrics to show for a model, in display order.

    Args:
        values: metric name -> value (a checkpoint's or an epoch's metrics; nats per
            image for the nats metrics), missing or None where not measured.
        variational: the model has a posterior q(z|x) (KL and ELBO apply to it).
        names: only these metrics, in this order (None: every one of ``METRICS``).

    Raises:
        KeyError: a name in ``names`` that is not a metric.
    """
    metrics = METRICS.values() if names is None else [METRICS[n] for n in names]
    return [m for m in metrics if m.applies_to(variational) and values.get(m.name) is not None]


def metric_tiles(values: Mapping[str, float | None], variational: bool, names: Sequence[str] | None = None,
                 columns: int | None = None) -> None:
    """Draw :func:`shown_metrics` as ``st.metric`` tiles (value by :meth:`Metric.format`).

    Args:
        values, variational, names: as for :func:`shown_metrics`.
        columns: draw them side by side in ``max(columns, number shown)`` equal columns
            (a fixed width a tile however few are shown); None: one under another.
    """
    shown = shown_metrics(values, variational, names)
    places = st.columns(max(columns, len(shown))) if columns is not None else [st] * len(shown)
    for place, m in zip(places, shown):
        place.metric(m.label, m.format(values[m.name]), help=m.help)
