"""Watch the holes form (Compare page) through AppTest: "Train both" starts an AE and a
VAE from the same initial weights, both live maps show, and once done both models join
the model choices and become the page's pair at a click; Stop keeps the models of that
moment."""

import re

import numpy as np
import pytest

from tests.helpers.charts import chart_spec, plotly_array
from explorer.core.twins import shared_weights_equal
from explorer.ui.jobs.twin_job import SAMPLE_SIZE


@pytest.fixture
def compare(open_page):
    return open_page("pages/compare.py")


def _start(at, subset, epochs):
    at.number_input(key="cmp_twin_subset").set_value(subset)
    at.number_input(key="cmp_twin_epochs").set_value(epochs)
    at.button(key="cmp_twin_start").click().run()
    assert not at.exception, at.exception
    return at.session_state["cmp_twin_job"]


def _map_points(at, i) -> int:
    return sum(len(plotly_array(t["x"])) for t in chart_spec(at, f"cmp_twin_chart_{i}")["data"]
               if t.get("name", "").startswith("digit"))


def test_train_both_shows_both_live_maps_then_offers_the_pair(compare):
    at = compare
    assert at.button(key="cmp_twin_start").label == "Train both"
    job = _start(at, 500, 2)  # 8 steps of 128 images
    assert job is not None and at.button(key="cmp_twin_start").disabled
    assert job.join(120) and job.snapshot().state == "finished"
    at.run()  # the run after the end: results adopted, outcome shown
    assert not at.exception, at.exception
    for i in range(2):  # both maps, at the last step
        assert _map_points(at, i) == SAMPLE_SIZE
        assert chart_spec(at, f"cmp_twin_chart_{i}")["layout"]["title"]["text"].endswith("step 8")
    assert any("Both models trained" in s.value for s in at.success)
    ae_name, vae_name = job.session_names
    assert ae_name.startswith("twin AE") and vae_name.startswith("twin VAE")
    options = at.selectbox(key="cmp_model_a").options
    for kind in ("AE", "VAE"):  # shown by their short names (the help names them)
        assert sum(bool(re.fullmatch(rf"{kind} · z = 2 · trained \d\d:\d\d today \(this session\)", o))
                   for o in options) == 1, options
    at.button(key="cmp_twin_use").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="cmp_model_a").value == f"session:{ae_name}"
    assert at.selectbox(key="cmp_model_b").value == f"session:{vae_name}"
    # the big maps are now the new models' maps: the AE's codes of all 10,000 test digits
    ae, vae = (at.session_state["session_models"][n].model for n in job.session_names)
    assert not ae.is_variational and vae.is_variational
    xs = np.concatenate([plotly_array(t["x"]) for t in chart_spec(at, "cmp_a_latent_map")["data"]
                         if t.get("name", "").startswith("digit")])
    assert len(xs) == 10_000
    assert not shared_weights_equal(ae, vae)  # trained apart by their objectives


def test_stop_ends_the_run_and_keeps_both_models(compare):
    at = compare
    job = _start(at, 60_000, 50)  # far more than a test waits for
    assert at.button(key="cmp_twin_stop").label == "Stop"
    at.button(key="cmp_twin_stop").click().run()
    assert job.stopping
    assert job.join(120) and job.snapshot().state == "stopped"
    at.run()
    assert any("Stopped by the user" in w.value for w in at.warning)
    assert job.session_names is not None and not at.button(key="cmp_twin_start").disabled


def test_the_time_left_is_estimated_from_the_runs_own_pace_not_promised():
    from explorer.ui.views.lesson import STEPS
    from explorer.ui.views.twins import time_text

    assert time_text(12.0, 0.25) == "elapsed 0:12, about 0:36 left"  # 12 s for a quarter: 36 s to go
    assert time_text(2.0, 0.01) == "elapsed 0:02"  # too early to tell
    assert time_text(None, 0.0) == "elapsed --"
    assert time_text(60.0, 1.0) == "elapsed 1:00"
    assert not any("40 s" in s.text or "40 seconds" in s.text for s in STEPS)
