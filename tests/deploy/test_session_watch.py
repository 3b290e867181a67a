"""The watchdog that stops a closed session's training, and the per-browser store that
lets models survive a reload (bounded)."""

from explorer.ui.state.browser_store import BrowserStore
from explorer.ui.jobs.session_watch import STOP_REASON, Watchdog


class FakeJob:
    def __init__(self):
        self.done, self.reason = False, None

    def stop(self, reason=None):
        self.reason = reason


def test_a_job_is_stopped_once_its_session_is_gone_for_the_grace_period():
    alive = {"s1": True}
    dog = Watchdog(is_alive=lambda sid: alive.get(sid, False), grace=10, check=3600)
    job = FakeJob()
    dog.watch(job, "s1")
    assert dog.check_once(now=0) == [] and job.reason is None
    alive["s1"] = False  # the tab closed
    assert dog.check_once(now=1) == []  # gone since t=1
    assert dog.check_once(now=10.9) == []
    assert dog.check_once(now=11) == [job] and job.reason == STOP_REASON
    assert dog.sessions(job) == frozenset()  # no longer watched


def test_a_reconnect_or_another_session_of_the_browser_keeps_the_job():
    alive = {"s1": True}
    dog = Watchdog(is_alive=lambda sid: alive.get(sid, False), grace=10, check=3600)
    job = FakeJob()
    dog.watch(job, "s1")
    alive["s1"] = False
    dog.check_once(now=0)
    alive["s1"] = True  # reconnected
    dog.check_once(now=5)
    alive["s1"] = False
    assert dog.check_once(now=12) == []  # the clock restarted at the reconnect
    dog.watch(job, "s2")  # a reload (or a second tab): the new session joins
    alive["s2"] = True
    assert dog.check_once(now=30) == [] and job.reason is None and dog.sessions(job) == {"s1", "s2"}
    alive["s2"] = False  # the last tab closes too
    dog.check_once(now=31)
    assert dog.check_once(now=41) == [job] and job.reason == STOP_REASON


def test_finished_jobs_are_forgotten():
    dog = Watchdog(is_alive=lambda sid: False, grace=0, check=3600)
    job = FakeJob()
    dog.watch(job, "s1")
    job.done = True
    assert dog.check_once(now=100) == [] and job.reason is None and dog.sessions(job) == frozenset()


def test_browser_store_is_bounded_per_browser_and_overall():
    store = BrowserStore(max_browsers=2, max_models=2, ttl=3600)
    for name in ("m1", "m2", "m3"):
        store.remember_model("tokenA", name, object())
    models, job = store.recall("tokenA")
    assert list(models) == ["m2", "m3"] and job is None  # the oldest went
    store.remember_job("tokenA", "jobA")
    store.remember_model("tokenB", "b", object())
    store.remember_model("tokenC", "c", object())  # a third browser evicts the least recent (A)
    assert len(store) == 2
    assert store.recall("tokenA") == ({}, None)


def test_browser_store_forgets_browsers_not_seen_for_its_ttl(monkeypatch):
    import explorer.ui.state.browser_store as bs

    clock = [0.0]
    monkeypatch.setattr(bs.time, "monotonic", lambda: clock[0])
    store = BrowserStore(ttl=100)
    store.remember_model("tokenA", "m", object())
    clock[0] = 101
    store.remember_model("tokenB", "m", object())
    assert len(store) == 1 and store.recall("tokenB")[0]


def test_browser_store_keeps_the_latest_model_choice_per_browser():
    store = BrowserStore(ttl=3600)
    assert store.recall_choice("tokenA") is None  # a browser that chose nothing
    store.remember_choice("tokenA", "file:checkpoints/mnist_ae_z2.safetensors")
    store.remember_choice("tokenA", "session:vae_z2_e1")
    store.remember_choice("tokenB", "file:checkpoints/mnist_vae_z2.safetensors")
    assert store.recall_choice("tokenA") == "session:vae_z2_e1"
    assert store.recall_choice("tokenB") == "file:checkpoints/mnist_vae_z2.safetensors"
