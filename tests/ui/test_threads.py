"""OpenMP spinning set before torch loads, and a training thread's intra-op threads
(explorer/core/threads.py, app.py, explorer/cli, the Train page's job)."""

import ast
import os
import subprocess
import sys
import threading
from pathlib import Path

import torch

from explorer.core import threads
from explorer.ui.jobs import train_form
from explorer.ui.jobs import training_job as tj
from explorer.ui.jobs.training_queue import TrainingQueue

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, **env: str) -> str:
    """Run ``code`` in a fresh interpreter at the repository root (no OpenMP variables
    unless given) and return its stdout."""
    clean = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**clean, **env},
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


def test_configure_openmp_sets_a_short_spin_before_torch_is_imported():
    code = ("import os, sys; from explorer.core.threads import configure_openmp; "
            "ok = configure_openmp(); print(ok, 'torch' in sys.modules, os.environ.get('GOMP_SPINCOUNT'))")
    assert _python(code) == f"True False {threads.SPIN_COUNT}"
    # a setting in the environment wins
    assert _python(code, GOMP_SPINCOUNT="300000") == "True False 300000"
    assert _python(code, OMP_WAIT_POLICY="ACTIVE") == "True False None"


def test_configure_openmp_changes_nothing_once_torch_is_loaded(monkeypatch):
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert "torch" in sys.modules  # this test module imported it
    assert threads.configure_openmp() is False
    assert "GOMP_SPINCOUNT" not in os.environ


def test_the_cli_package_configures_openmp_before_any_command_imports_torch():
    assert _python("import os, sys, explorer.cli; print('torch' in sys.modules, os.environ['GOMP_SPINCOUNT'])") \
        == f"False {threads.SPIN_COUNT}"


def test_app_configures_openmp_before_it_imports_torch():
    tree = ast.parse((REPO / "app.py").read_text())
    calls = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "id", None) == "configure_openmp"]
    torch_imports = [n.lineno for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                     and any(a.name.split(".")[0] == "torch" for a in n.names)
                     or isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "torch"]
    assert len(calls) == 1 and torch_imports and calls[0] < min(torch_imports)
    # and nothing imported above the call loads torch
    above = [n for n in tree.body if n.lineno < calls[0] and isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [getattr(n, "module", None) for n in above] == ["pathlib", "explorer.core.threads"]


def test_default_threads_are_the_usable_cores():
    assert threads.default_threads() == len(os.sched_getaffinity(0)) >= 1


def test_training_thread_uses_every_core_after_another_thread_asked_for_one(mnist):
    """torch.set_num_threads in one thread (the twin run asks for 1) becomes the default
    of threads started later; the Train page's job must still train on every core."""
    before = torch.get_num_threads()
    asker = threading.Thread(target=torch.set_num_threads, args=(1,))
    asker.start()
    asker.join()
    probe = []
    fresh = threading.Thread(target=lambda: probe.append(torch.get_num_threads()))
    fresh.start()
    fresh.join()
    try:
        assert probe == [1]  # the process-wide default really is 1 now
        model_config, train_config = train_form.make_configs(
            kind="vae", latent_dim=2, hidden_sizes="64", beta=1.0, epochs=1, batch_size=200, lr=2e-3,
            lr_schedule="constant", seed=0, subset=1000)
        job = tj.TrainingJob(model_config, train_config, mnist.train_images, mnist.test_images[:500],
                             mnist.test_labels[:500], mnist.dataset_info(), sample_size=100, queue=TrainingQueue(1))
        seen = []
        on_batch = job._on_batch
        job._on_batch = lambda progress: (seen.append(torch.get_num_threads()), on_batch(progress))
        job.start()
        assert job.join(120), "training did not end in time"
        assert job.snapshot().state == "finished"
        assert seen and set(seen) == {threads.default_threads()}
    finally:
        torch.set_num_threads(before)
