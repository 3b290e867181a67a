"""The Streamlit app through AppTest (no browser): pages run and show real data."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO

TIMEOUT = 60


@pytest.fixture
def app():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _scatter_points(at) -> int:
    spec = json.loads(at.get_by_key("latent_map")[0].proto.spec) if hasattr(at, "get_by_key") else None
    return sum(len(trace.get("x", [])) for trace in spec["data"] if trace["name"].startswith("digit"))


def test_explorer_shows_all_test_digits_of_the_shipped_vae(app):
    assert app.sidebar.selectbox(key="model_choice").value.endswith("mnist_vae_z2.pt")
    assert _scatter_points(app) == 10_000
    labels = {m.label for m in app.metric}
    assert "Test -ELBO (nats/image)" in labels


def test_switching_to_the_ae_redraws_the_map_without_elbo(app):
    box = app.sidebar.selectbox(key="model_choice")
    ae = next(o for o in box.options if "mnist_ae_z2.pt" in o)
    box.set_value(ae).run()
    assert not app.exception
    assert _scatter_points(app) == 10_000
    assert "Test -ELBO (nats/image)" not in {m.label for m in app.metric}
