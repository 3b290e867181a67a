"""The "watch the holes form" twin run is a training like any other: it waits its turn in
the server's queue, a closed session stops it, and its results pass the same check as
the Train page's. And a reload (a new session in the same browser) keeps the model
choice it had."""

import pytest

from explorer.core.config import TrainConfig
from explorer.ui.jobs import twin_job as tj
from explorer.ui.state.session import BROWSER_TOKEN_KEY
from explorer.ui.jobs.session_watch import STOP_REASON
from explorer.ui.jobs.training_queue import TrainingQueue


def _job(mnist, queue, epochs=1, subset=256, lr=2e-3):
    config = TrainConfig(epochs=epochs, batch_size=128, lr=lr, seed=0, subset=subset)
    return tj.TwinJob(config, mnist.train_images, mnist.test_images[:1000], mnist.test_labels[:1000],
                      {"name": "mnist", "sha256": "test"}, sample_size=200, queue=queue)


def test_a_twin_run_waits_for_a_free_slot_and_a_closed_session_stops_it_in_line(mnist):
    queue = TrainingQueue(1)
    blocker = object()
    assert queue.wait_turn(blocker, lambda: False)  # another training holds the only slot
    job = _job(mnist, queue).start()
    try:
        snap = job.snapshot()
        assert snap.state == "queued" and snap.queue_position == 1 and snap.step == 0
        job.stop(STOP_REASON)  # what the watchdog does when the tab is closed
        assert job.join(30)
        snap = job.snapshot()
        assert snap.state == "stopped" and STOP_REASON in snap.message and "nothing was trained" in snap.message
        assert snap.checkpoints is None and queue.counts() == (1, 0)  # it left the line
    finally:
        queue.leave(blocker)


def test_a_twin_run_starts_when_the_slot_frees_and_gives_it_back(mnist):
    queue = TrainingQueue(1)
    blocker = object()
    assert queue.wait_turn(blocker, lambda: False)
    job = _job(mnist, queue).start()
    assert job.snapshot().state == "queued"
    queue.leave(blocker)  # the other training ends
    assert job.join(120)
    snap = job.snapshot()
    assert snap.state == "finished" and snap.step == snap.num_steps == 2 and snap.checkpoints is not None
    assert queue.counts() == (0, 0)


def test_a_twin_run_with_absurd_results_offers_no_model(mnist, monkeypatch):
    real_evaluate = tj.evaluate

    def evaluate_gone_wrong(model, *args, **kwargs):  # the AE's test reconstruction blows up
        metrics = real_evaluate(model, *args, **kwargs)
        if not model.is_variational:
            metrics["test_reconstruction"] = 1e9
        return metrics

    monkeypatch.setattr(tj, "evaluate", evaluate_gone_wrong)
    job = _job(mnist, TrainingQueue(1))
    assert job.start().join(120)
    snap = job.snapshot()
    assert snap.state == "diverged" and snap.checkpoints is None
    assert "the AE's test reconstruction is 1e+09 nats" in snap.message and "not offered as a model" in snap.message


def test_a_reload_in_the_same_browser_keeps_the_model_choice(app_test):
    first = app_test()
    first.run()
    options = first.selectbox(key="model_choice").options
    ae = next(o for o in first.selectbox(key="model_choice").options if o == "AE · z = 2 · shipped")
    first.selectbox(key="model_choice").select(ae).run()
    assert not first.exception, first.exception
    token = first.session_state[BROWSER_TOKEN_KEY]

    fresh = app_test()  # another browser: the default model
    fresh.run()
    assert "mnist_vae_z2" in fresh.selectbox(key="model_choice").value

    reloaded = app_test()  # a new session with this browser's token (its cookie)
    reloaded.session_state[BROWSER_TOKEN_KEY] = token
    reloaded.run()
    assert not reloaded.exception, reloaded.exception
    assert "mnist_ae_z2" in reloaded.selectbox(key="model_choice").value
    assert options == reloaded.selectbox(key="model_choice").options


def _thread_nice() -> int:
    import os
    import threading

    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_lower_thread_priority_lowers_only_the_calling_thread():
    import threading

    from explorer.ui.jobs.training_queue import lower_thread_priority

    seen = {}

    def worker():
        seen["before"] = _thread_nice()
        seen["lowered"] = lower_thread_priority(5)
        seen["after"] = _thread_nice()
        child = threading.Thread(target=lambda: seen.setdefault("child", _thread_nice()))
        child.start()
        child.join()

    main_before = _thread_nice()
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["lowered"] and seen["after"] == min(19, seen["before"] + 5)
    assert seen["child"] == seen["after"]  # threads it starts (PyTorch's workers) inherit it
    assert _thread_nice() == main_before  # the server's other threads keep theirs


def test_a_twin_run_trains_at_lowered_priority(mnist, monkeypatch):
    from explorer.ui.jobs.training_queue import TRAINING_NICE

    seen = []
    real_train = tj.train_twins

    def recording_train(*args, **kwargs):
        seen.append(_thread_nice())
        return real_train(*args, **kwargs)

    monkeypatch.setattr(tj, "train_twins", recording_train)
    base = _thread_nice()
    assert _job(mnist, TrainingQueue(1)).start().join(120)
    assert seen == [min(19, base + TRAINING_NICE)]
