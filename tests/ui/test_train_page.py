"""The Train page through AppTest (no browser), on real MNIST subsets."""

import io
import re
import threading
import time

import pytest
import torch

from tests.helpers.paths import VAE_CHECKPOINT
from tests.helpers.charts import chart_spec, plotly_array
from explorer.core.checkpoints import load_checkpoint
from explorer.ui.jobs import train_form
from explorer.ui.state import registry, session
from explorer.ui.figures import LATENT_MAP_TRACE_PREFIX
from explorer.ui.jobs import training_job as tj

QUICK = {"train_hidden": "128", "train_epochs": 2, "train_subset": 2000}


@pytest.fixture
def train_page(open_page):
    return open_page("pages/train.py")


@pytest.fixture
def training_gate(monkeypatch):
    """Holds every training job before its first step until the test sets the event.

    A 2-epoch run of 2,000 images ends in about 0.3-0.8 s, about as long as the rerun
    that follows the Train click: checks of the *running* page would race the job."""
    gate = threading.Event()
    real_train = tj.train
    threads = []

    def gated_train(*args, **kwargs):
        threads.append(threading.current_thread())
        if not gate.wait(120):
            raise RuntimeError("the test never released the training gate")
        return real_train(*args, **kwargs)

    monkeypatch.setattr(tj, "train", gated_train)
    yield gate
    gate.set()  # a failed test must not leave a thread waiting
    for thread in threads:  # nor one still in torch when the interpreter exits (abort)
        thread.join(120)


def _start(at, **settings):
    for key, value in {**QUICK, **settings}.items():
        widget = at.text_input(key=key) if key == "train_hidden" else at.number_input(key=key)
        widget.set_value(value)
    at.button(key="start_training").click().run()
    assert not at.exception, at.exception


def _wait(at, seconds=120):
    job = at.session_state[session.TRAINING_JOB_KEY]
    assert job.join(seconds), "training did not end in time"
    at.run()
    assert not at.exception, at.exception
    return job


def _points(spec: dict) -> int:
    """Number of points in a figure's digit traces (the map has other traces too)."""
    return sum(len(plotly_array(trace.get("x", []))) for trace in spec["data"]
               if trace.get("name", "").startswith(LATENT_MAP_TRACE_PREFIX))


SESSION_LABEL = " (this session)"


def _session_choices(at):
    """Names of the session models offered in the sidebar's model choice: the choice shows
    each by a short name ending in "(this session)" (its name is in the help), one per model."""
    boxes = [b for b in at.sidebar.selectbox if b.key == session.MODEL_CHOICE_KEY]
    if not boxes:  # no checkpoint file and no session model: no choice at all
        assert "No checkpoints found" in at.sidebar.error[0].value
        return []
    shown = [o for o in boxes[0].options if o.endswith(SESSION_LABEL)]
    names = list(at.session_state[session.SESSION_MODELS_KEY])
    assert len(shown) == len(names), (shown, names)
    return names


def test_short_run_shows_progress_and_metrics_and_becomes_the_chosen_model(train_page, training_gate):
    at = train_page
    _start(at)
    job = at.session_state[session.TRAINING_JOB_KEY]
    assert job is not None and at.button(key="start_training").disabled  # no second run meanwhile
    assert len(at.get("progress")) == 1
    training_gate.set()
    job = _wait(at)
    assert job.snapshot().state == "finished"
    assert "Training finished after 2 epochs" in at.success[0].value
    progress = at.get("progress")[0]
    # 2,000 images in batches of 128: 16 per epoch
    assert progress.proto.value == 100 and "Epoch 2/2, batch 16/16" in progress.proto.text
    labels = {m.label for m in at.metric}
    assert {"Test -ELBO (nats/image)", "Test reconstruction (nats/image)"} <= labels
    curves = chart_spec(at, "training_curves")
    assert {t["name"] for t in curves["data"]} >= {"training loss", "test -ELBO", "test KL"}
    # the replay slider walks the latent map through epochs 0..2
    replay = at.slider(key="replay_epoch")
    assert (replay.min, replay.max, replay.value) == (0, 2, 2)
    replay.set_value(0).run()
    spec = chart_spec(at, "training_map")
    assert "initial weights" in spec["layout"]["title"]["text"]
    assert _points(spec) == 2000
    # the model is offered, and chosen, in the sidebar
    name = job.session_model_name
    assert _session_choices(at) == [name]
    assert at.sidebar.selectbox(key=session.MODEL_CHOICE_KEY).value == f"{registry.SESSION_PREFIX}{name}"
    assert f"The model **{name}** is in the sidebar" in at.info[0].value
    # ... and usable on the explorer page without a restart
    at.switch_page("pages/explorer.py").run()
    assert not at.exception, at.exception
    assert _points(chart_spec(at, "latent_map")) == 10_000
    _assert_heading(at, name)


def _assert_heading(at, name):
    """The Explorer's heading names this session's model by its short name; its session name is in the help."""
    heading = next(h for h in at.subheader if "· z = " in h.value)
    assert re.fullmatch(r"VAE · z = 2 · trained \d\d:\d\d today \(this session\)", heading.value), heading.value
    assert f"**{name}**" in heading.proto.help


def test_a_finished_run_is_chosen_in_the_sidebar_and_drawn_on_the_explorer_page(mnist, app_test):
    """The entry script (sidebar) adopts a finished job on whatever page is shown."""
    at = app_test()
    at.run()
    model_config, train_config = train_form.make_configs(
        kind="vae", latent_dim=2, hidden_sizes="128", beta=1.0, epochs=1, batch_size=128,
        lr=2e-3, lr_schedule="cosine", seed=0, subset=1000)
    job = tj.TrainingJob(model_config, train_config, mnist.train_images, mnist.test_images,
                         mnist.test_labels, mnist.dataset_info()).start()
    assert job.join(120)
    at.session_state[session.TRAINING_JOB_KEY] = job
    at.run()
    assert not at.exception, at.exception
    name = job.session_model_name
    box = at.sidebar.selectbox(key=session.MODEL_CHOICE_KEY)
    assert box.value == f"{registry.SESSION_PREFIX}{name}" and _session_choices(at) == [name]
    _assert_heading(at, name)
    assert _points(chart_spec(at, "latent_map")) == 10_000
    at.run()  # adopted once only
    assert list(at.session_state[session.SESSION_MODELS_KEY]) == [name]


def test_stop_keeps_the_model_as_it_is(train_page):
    at = train_page
    _start(at, train_epochs=100, train_subset=0)
    job = at.session_state[session.TRAINING_JOB_KEY]
    deadline = time.monotonic() + 120
    while job.snapshot().batch < 5:  # polls the job's own progress, bounded
        assert not job.done, job.snapshot().message
        assert time.monotonic() < deadline, "training did not reach batch 5 in time"
        time.sleep(0.02)
    at.button(key="stop_training").click().run()
    asked = time.perf_counter()
    assert job.join(10) and time.perf_counter() - asked < 2.0
    _wait(at)
    assert "Stopped by the user" in at.warning[0].value
    assert len(_session_choices(at)) == 1


def _blocks_beside_stop(at) -> list[int]:
    """Positions of the container blocks (the map/curve columns) among the live view's
    children: the fragment's container is the block that holds the Stop button."""
    from streamlit.testing.v1.element_tree import Block

    def find(node):
        kids = getattr(node, "children", None)
        if not isinstance(kids, dict):
            return None
        if any(getattr(k, "key", None) == "stop_training" for k in kids.values()):
            return kids
        return next((found for k in kids.values() if (found := find(k)) is not None), None)

    kids = find(at.main)
    assert kids is not None, "no live view with a Stop button"
    return [i for i, k in kids.items() if isinstance(k, Block)]


def test_the_live_view_keeps_its_layout_when_stopping(train_page, training_gate):
    """"Stopping..." fills a slot that is always there: the columns keep their delta
    path, which a cached-chart reference from an interrupted fragment run relies on
    (see pages/train.py; without the slot a loaded server crashed the page)."""
    at = train_page
    _start(at, train_epochs=100)
    before = _blocks_beside_stop(at)
    at.button(key="stop_training").click().run()  # the job waits at the gate: still live
    assert "Stopping..." in [c.value for c in at.caption]
    assert _blocks_beside_stop(at) == before and before


def test_diverging_run_stops_with_a_clear_message(train_page):
    at = train_page
    at.selectbox(key="train_schedule").set_value("constant")
    _start(at, train_lr=10.0)
    _wait(at)
    assert "Training diverged" in at.error[0].value and "smaller learning rate" in at.error[0].value
    assert _session_choices(at) == []  # a diverged run is never offered as a model


def test_invalid_settings_are_refused_before_training(train_page):
    at = train_page
    _start(at, train_hidden="512, lots")
    assert "Cannot train with these settings" in at.error[0].value and "'lots'" in at.error[0].value
    assert at.session_state[session.TRAINING_JOB_KEY] is None


def test_a_huge_hidden_size_is_refused_before_anything_is_built(train_page):
    at = train_page
    _start(at, train_hidden="100000000")
    error = at.error[0].value
    assert "Cannot train with these settings" in error and "this server trains at most 50,000,000" in error
    assert "Choose smaller hidden sizes" in error
    assert at.session_state[session.TRAINING_JOB_KEY] is None


def test_a_run_beyond_the_server_limit_waits_in_line_and_starts_when_a_slot_frees(train_page, monkeypatch):
    from explorer.ui.jobs import training_queue
    from explorer.ui.jobs.training_queue import TrainingQueue

    queue = TrainingQueue(1)
    monkeypatch.setattr(training_queue, "SLOTS", queue)  # the server's queue, read when a job starts
    other = object()  # another session's training holds the only slot
    assert queue.wait_turn(other, lambda: False)
    at = train_page
    _start(at, train_epochs=1, train_subset=500)
    job = at.session_state[session.TRAINING_JOB_KEY]
    deadline = time.monotonic() + 30
    while job.snapshot().queue_position != 1:
        assert time.monotonic() < deadline, "the job never queued"
        time.sleep(0.01)
    at.run()
    progress = [e for e in at.main if e.type == "progress"]
    assert "1st in line" in progress[0].proto.text and "trains 1 at a time" in progress[0].proto.text
    queue.leave(other)  # the slot frees: the job starts by itself
    _wait(at)
    assert job.snapshot().state == "finished" and _session_choices(at)


def test_stop_works_while_queued(train_page, monkeypatch):
    from explorer.ui.jobs import training_queue
    from explorer.ui.jobs.training_queue import TrainingQueue

    queue = TrainingQueue(1)
    monkeypatch.setattr(training_queue, "SLOTS", queue)  # the server's queue, read when a job starts
    other = object()
    assert queue.wait_turn(other, lambda: False)
    at = train_page
    _start(at, train_epochs=1, train_subset=500)
    at.button(key="stop_training").click().run()
    _wait(at, seconds=10)
    assert "Stopped while waiting in line" in at.warning[0].value
    assert _session_choices(at) == [] and queue.counts() == (1, 0)
    queue.leave(other)


def test_save_writes_a_new_file_and_never_overwrites(train_page, tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)
    at = train_page
    _start(at, train_epochs=1, train_subset=500)
    _wait(at)
    name = at.text_input(key=session.SAVE_NAME_KEY).value
    assert name.startswith("vae_z2_h128_b1_e1_n500_s0_") and name.endswith(".safetensors")
    at.button(key="save_checkpoint").click().run()
    assert f"Saved {name}" in at.success[-1].value
    saved = (tmp_path / name).read_bytes()
    at.button(key="save_checkpoint").click().run()
    assert "already exists and was not overwritten" in at.error[0].value
    assert (tmp_path / name).read_bytes() == saved
    assert at.get_by_key("download_checkpoint").proto.label == "Download checkpoint"


def _bare_state_dict() -> bytes:
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(3)}, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("content, message", [
    (lambda: VAE_CHECKPOINT.read_bytes()[:5000], "not a readable checkpoint"),
    (lambda: b"hello, I am not a checkpoint", "not a readable checkpoint"),
    (_bare_state_dict, "not a latent-space-explorer checkpoint"),
])
def test_upload_refuses_corrupt_and_foreign_files(train_page, content, message):
    at = train_page
    at.file_uploader(key="upload_checkpoint").set_value(("model.pt", content(), "application/octet-stream"))
    at.run()
    assert not at.exception, at.exception
    assert "This file cannot be used" in at.error[0].value and message in at.error[0].value
    assert _session_choices(at) == []


def test_a_refused_upload_is_not_parsed_again_on_reruns(train_page, monkeypatch):
    calls = []

    def counting_load(data, **kwargs):
        calls.append(len(data))
        return load_checkpoint(data, **kwargs)

    monkeypatch.setattr(registry, "load_checkpoint", counting_load)
    at = train_page
    at.file_uploader(key="upload_checkpoint").set_value(("bad.safetensors", b"\0" * 5000, "application/octet-stream"))
    at.run()
    at.run()
    assert "This file cannot be used" in at.error[0].value and "bad.safetensors" in at.error[0].value
    assert calls == [5000]  # parsed once; the rerun repeated the remembered refusal


def test_upload_of_a_good_checkpoint_makes_it_selectable(train_page):
    at = train_page
    at.file_uploader(key="upload_checkpoint").set_value(
        ("teacher.pt", VAE_CHECKPOINT.read_bytes(), "application/octet-stream"))
    at.run()
    assert not at.exception, at.exception
    assert "passed the checks" in at.success[0].value and "Shipped with the app" in at.success[0].value
    assert _session_choices(at) == ["teacher (uploaded)"]
    shown = at.sidebar.selectbox(key=session.MODEL_CHOICE_KEY)
    assert re.fullmatch(r"VAE · z = 2 · uploaded \d\d:\d\d today \(this session\)", shown.format_func(shown.value))
    assert "teacher (uploaded)" in shown.help
    at.run()  # the same upload on a rerun is not added twice
    assert len(_session_choices(at)) == 1


def test_contractive_models_offer_lambda_and_the_scae_its_noise(train_page, training_gate):
    at = train_page
    assert "train_contraction" not in [w.key for w in at.number_input]  # the VAE has no lambda
    at.radio(key="train_kind").set_value("cae").run()
    keys = [w.key for w in at.number_input]
    assert "train_contraction" in keys and "train_contraction_noise" not in keys and "train_beta" not in keys
    at.radio(key="train_kind").set_value("scae").run()
    _start(at, train_contraction=0.5, train_contraction_noise=0.2)
    job = at.session_state[session.TRAINING_JOB_KEY]
    config = job.model_config
    assert (config.kind, config.contraction, config.contraction_noise) == ("scae", 0.5, 0.2)
    job.stop()
    training_gate.set()
    assert job.join(120)
    assert train_form.run_name(config, job.train_config, 0).startswith("scae_z2_h128_l0.5_s0.2_e0_n2000_s0_")


def test_the_noise_level_is_offered_only_with_input_noise(train_page):
    # a plain VAE (no input noise) showed "Noise level 0.50" beside "Input noise: none"
    at = train_page
    assert at.selectbox(key="train_noise").value == "none"
    assert "Noise level" not in [n.label for n in at.number_input]
    at.selectbox(key="train_noise").set_value("masking").run()
    assert not at.exception, at.exception
    assert at.number_input(key="train_noise_level").value == 0.5


def test_the_hidden_sizes_follow_the_network_unless_typed(train_page, training_gate):
    from explorer.core.config import ARCHITECTURES, DEFAULT_HIDDEN_SIZES

    at = train_page
    widths = {a: ", ".join(map(str, DEFAULT_HIDDEN_SIZES[a])) for a in ARCHITECTURES}
    network = at.selectbox(key="train_architecture")
    # one help text describes every network and its default widths
    for architecture, label in (("mlp", "Fully connected"), ("conv", "Keras replica"), ("strided_conv", "strided 4x4")):
        assert label in network.help and f"default {widths[architecture]}" in network.help

    def hidden():
        return at.text_input(key="train_hidden").value

    assert (network.value, hidden()) == ("mlp", widths["mlp"])
    at.selectbox(key="train_architecture").set_value("conv").run()
    assert not at.exception, at.exception
    assert hidden() == widths["conv"] != widths["mlp"]
    at.selectbox(key="train_architecture").set_value("strided_conv").run()
    assert hidden() == widths["strided_conv"]
    # widths the user typed stay when the network changes
    at.text_input(key="train_hidden").set_value("64 48")
    at.selectbox(key="train_architecture").set_value("mlp").run()
    assert hidden() == "64 48"
    # the default typed with other spacing still counts as the default
    at.text_input(key="train_hidden").set_value("512,256")
    at.selectbox(key="train_architecture").set_value("strided_conv").run()
    assert hidden() == widths["strided_conv"]
    # the run gets the network and the widths on screen
    _start(at, train_hidden=hidden())
    job = at.session_state[session.TRAINING_JOB_KEY]
    assert (job.model_config.architecture, job.model_config.hidden_sizes) == (
        "strided_conv", DEFAULT_HIDDEN_SIZES["strided_conv"])
    job.stop()
    training_gate.set()
    assert job.join(120)


def test_after_a_linear_ae_the_network_and_its_widths_start_again_together(train_page):
    at = train_page
    at.selectbox(key="train_architecture").set_value("conv").run()
    at.radio(key="train_kind").set_value("linear_ae").run()
    assert "train_architecture" not in [s.key for s in at.selectbox]
    at.radio(key="train_kind").set_value("vae").run()
    assert not at.exception, at.exception
    shown = (at.selectbox(key="train_architecture").value, at.text_input(key="train_hidden").value)
    assert shown == ("mlp", "512, 256"), shown  # both lost their state while hidden: they start again together
    at.selectbox(key="train_architecture").set_value("strided_conv").run()
    assert at.text_input(key="train_hidden").value == "256"
