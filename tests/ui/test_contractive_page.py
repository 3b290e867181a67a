"""AppTest of the Contractive AE page: three shipped models' maps with arrows that are the
models' own code moves, and a table of numbers measured on the test set."""

import numpy as np
import pytest
import torch

from explorer.core.checkpoints import load_checkpoint
from explorer.core.contractive import code_moves, contraction_summary

from tests.helpers.paths import REPO
from tests.helpers.charts import chart_spec

CHECKPOINTS = REPO / "checkpoints"
MAPS = {"plain": "mnist_ae_z2.safetensors", "denoising": "mnist_dae_z2.safetensors", "contractive": "mnist_cae_z2.safetensors"}


def _arrows(at, key):
    spec = chart_spec(at, key)
    ann = spec["layout"]["annotations"]
    return np.array([[a["ax"], a["ay"]] for a in ann]), np.array([[a["x"], a["y"]] for a in ann])


def test_the_page_draws_each_models_moves_and_measures_them(app_test, mnist):
    at = app_test()
    at.run()
    at.switch_page("pages/contractive.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Jacobian" in at.caption[0].value
    labels = mnist.test_labels
    rows = torch.cat([torch.nonzero(labels == d)[:, 0][torch.randperm(int((labels == d).sum()),
                      generator=torch.Generator().manual_seed(d))[:2]] for d in range(10)])
    models = {name: load_checkpoint(CHECKPOINTS / file).model for name, file in MAPS.items()}
    for perturbation, magnify in (("noise", 3), ("shift", 10)):
        if perturbation == "shift":
            at.radio(key="cae_perturbation").set_value("shift").run()
            at.selectbox(key="cae_magnify").set_value(10).run()
            assert not at.exception
        for name, model in models.items():
            start, tip = _arrows(at, f"cae_map_{name}")
            h, moved = code_moves(lambda x: model.encode(x)[0], mnist.test_images[rows], perturbation, 0.1, seed=0)
            assert len(start) == 20
            np.testing.assert_allclose(start, h.numpy(), rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(tip, (h + magnify * (moved - h)).numpy(), rtol=1e-4, atol=1e-3)
    table = at.dataframe[0].value
    cae = models["contractive"]
    expected = contraction_summary(lambda x: cae.encode(x)[0], mnist.test_images, 0.1, 0)
    row = table.loc["contractive AE"]
    assert row["mean ||J||_F"] == pytest.approx(expected["jacobian"], rel=1e-4)
    assert row["shift / spread"] == pytest.approx(expected["shift_relative"], rel=1e-4)
    assert set(table.index) == {"plain AE", "denoising AE", "contractive AE"}
