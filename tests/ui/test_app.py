"""The Streamlit app through AppTest (no browser): pages run and show real data."""

import pytest

from tests.helpers.paths import AE_CHECKPOINT, VAE_CHECKPOINT
from tests.helpers.charts import chart_spec, plotly_array


def _scatter_points(at) -> int:
    spec = chart_spec(at, "latent_map")
    return sum(len(plotly_array(t["x"])) for t in spec["data"] if t.get("name", "").startswith("digit"))


def test_explorer_shows_all_test_digits_of_the_shipped_vae(home, mnist, vae_checkpoint):
    assert home.sidebar.selectbox(key="model_choice").value.endswith("mnist_vae_z2.safetensors")
    assert _scatter_points(home) == 10_000
    # each plotted point is the encoder mean of the test image named in its customdata
    trace = chart_spec(home, "latent_map")["data"][7]
    assert trace["name"] == "digit 7"
    index, label = plotly_array(trace["customdata"])[123]
    assert label == 7 and mnist.test_labels[index] == 7
    mu, _ = vae_checkpoint.model.encode(mnist.test_images[index : index + 1])
    expected = mu[0].detach().numpy()
    assert plotly_array(trace["x"])[123] == pytest.approx(expected[0], abs=1e-5)
    assert plotly_array(trace["y"])[123] == pytest.approx(expected[1], abs=1e-5)
    labels = {m.label for m in home.metric}
    assert "Test -ELBO (nats/image)" in labels


def test_the_sidebar_shows_short_model_names_and_the_file_in_its_help(home):
    box = home.sidebar.selectbox(key="model_choice")
    assert box.value.endswith("/mnist_vae_z2.safetensors")  # the value stays the file (URLs, state)
    assert box.options[:3] == ["VAE · z = 2 · shipped", "AE · z = 10 · shipped", "AE · z = 2 · shipped"]
    assert "β-VAE (β = 4) · z = 10 · shipped" in box.options and "Linear AE · z = 2 · shipped" in box.options
    assert not any("classifier" in o.lower() or o.endswith(".safetensors") for o in box.options), box.options
    assert "checkpoints/mnist_vae_z2.safetensors" in box.help
    box.set_value(f"file:{VAE_CHECKPOINT.parent / 'mnist_vae_z10_beta4.safetensors'}").run()
    box = home.sidebar.selectbox(key="model_choice")
    assert box.format_func(box.value) == "β-VAE (β = 4) · z = 10 · shipped" and not home.exception
    # what pages get (registry.current_model, resolved from the choice): the short name, and the file in its help
    heading = next(h for h in home.subheader if h.value == "β-VAE (β = 4) · z = 10 · shipped")
    assert "Model file: `checkpoints/mnist_vae_z10_beta4.safetensors`" in heading.proto.help
    assert "checkpoints/mnist_vae_z10_beta4.safetensors" in box.help


def test_the_map_states_its_click_behaviour_in_its_own_layout(home):
    # Left to Streamlit's chart component, clickmode and dragmode arrived after the first
    # draw, and a redraw could lose them for good: the map then ignored clicks (see
    # explorer.ui.views.common._click_layout). Clicks are events the page sends
    # (explorer.ui.components.map_marks), not Plotly selections: a selection redraws every point first.
    layout = chart_spec(home, "latent_map")["layout"]
    assert (layout["clickmode"], layout["hovermode"], layout["dragmode"]) == ("event", "closest", "pan")


def test_switching_to_the_ae_redraws_the_map_without_elbo(home):
    box = home.sidebar.selectbox(key="model_choice")
    assert "AE · z = 2 · shipped" in box.options  # short names shown, file paths as values
    box.set_value(f"file:{AE_CHECKPOINT}").run()
    assert not home.exception
    assert _scatter_points(home) == 10_000
    assert "Test -ELBO (nats/image)" not in {m.label for m in home.metric}


def test_a_corrupt_checkpoint_file_shows_a_clear_error_and_loses_nothing(app_test, tmp_path, monkeypatch):
    import shutil

    from explorer.ui.state import registry

    from tests.helpers.paths import VAE_CHECKPOINT

    shutil.copy(VAE_CHECKPOINT, tmp_path / VAE_CHECKPOINT.name)
    (tmp_path / "broken.pt").write_bytes(VAE_CHECKPOINT.read_bytes()[:50_000])
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)
    at = app_test()
    at.run()
    box = at.sidebar.selectbox(key="model_choice")
    # shown names, shipped VAE first (a copy of a shipped file is shipped by its bytes); a file whose
    # header cannot be read shows its file name
    assert box.options == ["VAE · z = 2 · shipped", "broken.pt"]
    box.set_value(f"file:{tmp_path / 'broken.pt'}").run()
    assert not at.exception
    assert "broken.pt" in at.sidebar.error[0].value and "not a readable checkpoint" in at.sidebar.error[0].value
    assert not at.get("plotly_chart")
    # the good model is still there and works
    box.set_value(f"file:{tmp_path / VAE_CHECKPOINT.name}").run()
    assert not at.exception and _scatter_points(at) == 10_000


def test_the_explorer_says_whether_the_weights_were_checked(app_test, tmp_path, monkeypatch, vae_checkpoint):
    import shutil

    from explorer.ui.state import registry

    from tests.helpers.paths import VAE_CHECKPOINT
    from tests.helpers.checkpoint_files import legacy_bytes, legacy_payload

    shutil.copy(VAE_CHECKPOINT, tmp_path / VAE_CHECKPOINT.name)
    (tmp_path / "old_vae.pt").write_bytes(legacy_bytes(legacy_payload(
        vae_checkpoint.model, metrics=vae_checkpoint.metrics, train_config=vae_checkpoint.train_config.to_dict())))
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)
    at = app_test()
    at.run()
    captions = " ".join(c.value for c in at.caption)
    # the shipped VAE's bytes are listed in checkpoints/SHA256SUMS: its stored metrics are shown
    assert "Shipped with the app" in captions and "Unverified" not in captions
    at.sidebar.selectbox(key="model_choice").set_value(f"file:{tmp_path / 'old_vae.pt'}").run()
    captions = " ".join(c.value for c in at.caption)
    assert "Unverified" in captions  # a format-1 .pt file carries no checksum
    # a file from elsewhere: its metrics were recomputed (they agree: same weights, same seed)
    assert "Metrics recomputed here on the MNIST test digits; the stored ones agree" in captions
