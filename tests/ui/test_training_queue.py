"""At most N trainings at once: the rest wait in a FIFO queue that shows their place,
start by themselves when a slot frees, and can be stopped while waiting."""

import threading
import time

import pytest

from explorer.ui.jobs import train_form
from explorer.ui.jobs import training_job as tj
from explorer.ui.jobs.training_queue import TrainingQueue, ordinal

SETTINGS = {"kind": "vae", "latent_dim": 2, "hidden_sizes": "128", "beta": 1.0, "batch_size": 100,
            "lr": 2e-3, "lr_schedule": "cosine", "seed": 0, "subset": 2000}


def _job(mnist, queue, epochs):
    model_config, train_config = train_form.make_configs(**{**SETTINGS, "epochs": epochs})
    return tj.TrainingJob(model_config, train_config, mnist.train_images, mnist.test_images[:500],
                          mnist.test_labels[:500], mnist.dataset_info(), sample_size=200, queue=queue)


def _wait_for(condition, what, seconds=120):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_with_one_slot_the_second_job_waits_first_in_line_then_runs(mnist):
    queue = TrainingQueue(1)
    first = _job(mnist, queue, epochs=50).start()
    _wait_for(lambda: first.snapshot().state == "running", "the first job to run")
    second = _job(mnist, queue, epochs=1).start()
    _wait_for(lambda: second.snapshot().queue_position == 1, "the second job to queue")
    snap = second.snapshot()
    assert snap.state == "queued" and snap.queue_position == 1 and snap.epoch == 0 and snap.elapsed == 0
    assert first.snapshot().state == "running" and first.snapshot().queue_position == 0
    assert queue.counts() == (1, 1)
    first.stop()
    assert first.join(30)
    assert second.join(120)  # started by itself once the slot was free
    snap = second.snapshot()
    assert snap.state == "finished" and len(snap.history) == 1 and snap.checkpoint is not None
    assert queue.counts() == (0, 0)


def test_stop_while_queued_leaves_the_line_without_training(mnist):
    queue = TrainingQueue(1)
    holder = object()
    assert queue.wait_turn(holder, lambda: False)  # the only slot is taken
    job = _job(mnist, queue, epochs=1).start()
    _wait_for(lambda: job.snapshot().queue_position == 1, "the job to queue")
    job.stop()
    assert job.join(5)
    snap = job.snapshot()
    assert snap.state == "stopped" and "waiting in line" in snap.message and snap.checkpoint is None
    assert job.model is None  # nothing was built
    assert queue.counts() == (1, 0)
    queue.leave(holder)


def test_queue_is_first_in_first_out_with_two_slots():
    queue = TrainingQueue(2)
    started, release = [], threading.Event()

    def holder(name):
        assert queue.wait_turn(name, lambda: False)
        started.append(name)
        release.wait(10)
        queue.leave(name)

    names = [f"job{i}" for i in range(4)]
    threads = []
    for name in names:
        threads.append(threading.Thread(target=holder, args=(name,)))
        threads[-1].start()
        _wait_for(lambda: name in started or queue.position(name) > 0, f"{name} to queue", seconds=5)
    assert started == names[:2] and [queue.position(n) for n in names[2:]] == [1, 2]
    release.set()
    for thread in threads:
        thread.join(10)
    assert started == names and queue.counts() == (0, 0)


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]
    with pytest.raises(ValueError):
        TrainingQueue(0)
