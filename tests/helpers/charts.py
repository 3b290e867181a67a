"""Plotly figures in AppTest runs: a chart's figure JSON and its trace arrays."""

from __future__ import annotations

import base64
import json

import numpy as np

def plotly_array(value) -> np.ndarray:
    """A trace array from figure JSON: Plotly 6+ writes NumPy arrays as base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return array.reshape([int(n) for n in shape.split(",")]) if shape else array
    return np.asarray(value)


def chart_spec(at, key: str) -> dict:
    """The figure JSON of the ``st.plotly_chart`` with this key in an AppTest run."""
    return json.loads(at.get_by_key(key).proto.spec)
