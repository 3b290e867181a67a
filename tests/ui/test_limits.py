"""Training limits and the divergence guard: absurd settings are refused before anything
is allocated, and a run whose weights or test metrics go non-finite or absurd is reported
as diverged and never offered as a model (trainer, background job, CLI)."""

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from explorer.core import limits
from explorer.core.limits import MAX_PARAMETERS
from explorer.core.models import ModelConfig, build_model, num_parameters
from explorer.core.train import TrainConfig, TrainingDiverged, train
from explorer.ui.jobs import train_form
from explorer.ui.jobs import training_job as tj

ROOT = Path(__file__).resolve().parents[2]
FORM = {"kind": "ae", "latent_dim": 2, "hidden_sizes": "512, 256", "beta": 1.0, "epochs": 1, "batch_size": 128,
        "lr": 2e-3, "lr_schedule": "constant", "seed": 0, "subset": 0}


def test_hidden_size_of_a_hundred_million_is_refused_instantly_by_the_form():
    start = time.perf_counter()
    with pytest.raises(limits.TrainingTooLarge) as info:
        train_form.make_configs(**{**FORM, "hidden_sizes": "100000000"})
    assert time.perf_counter() - start < 0.5  # counted from the config, nothing built
    message = str(info.value)
    assert f"{num_parameters(ModelConfig(kind='ae', hidden_sizes=(100_000_000,))):,} parameters" in message
    assert f"at most {MAX_PARAMETERS:,}" in message and "Choose smaller hidden sizes" in message


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent (pytest,
# about 2 GB here), while VmHWM belongs to the process's own address space since exec.
PEAK_RSS_SCRIPT = """
import sys
from explorer.cli.train import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(int(status.split()[0]))  # KiB
sys.exit(code)
"""


def test_cli_refuses_a_huge_model_with_exit_2_and_low_peak_memory(tmp_path):
    out = tmp_path / "x.safetensors"
    proc = subprocess.run([sys.executable, "-c", PEAK_RSS_SCRIPT, "--model", "ae", "--hidden", "100000000",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "this server trains at most 50,000,000" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
    # the model would need over 600 GB; the refusing process stays near torch's import size
    assert int(proc.stdout.split()[-1]) < 1_000_000


def test_memory_limit_names_the_batch_size_that_fits():
    model_config = ModelConfig(hidden_sizes=(4096, 4096))
    need = limits.training_memory_bytes(model_config, 60_000)
    assert need > limits.MAX_TRAINING_BYTES  # about 8 GiB of activations
    with pytest.raises(limits.TrainingTooLarge, match=r"batch of 60,000 images.*batch size of at most") as info:
        limits.check_training_limits(model_config, TrainConfig(batch_size=60_000))
    fits = limits.max_batch_size(model_config)
    assert f"at most {fits:,}" in str(info.value)
    assert limits.training_memory_bytes(model_config, fits) <= limits.MAX_TRAINING_BYTES
    assert limits.training_memory_bytes(model_config, fits + 1) > limits.MAX_TRAINING_BYTES
    limits.check_training_limits(model_config, TrainConfig(batch_size=fits))  # fits: no error
    limits.check_training_limits(model_config, TrainConfig(batch_size=60_000, subset=fits))  # a small subset too


def test_the_defaults_fit_well_within_the_limits():
    model_config, train_config = train_form.make_configs(**{**FORM, "kind": "vae"})
    assert limits.training_memory_bytes(model_config, train_config.batch_size) < 50 << 20


def test_reconstruction_bound_is_ten_times_the_all_grey_bernoulli_decoder():
    assert limits.reconstruction_bound(ModelConfig()) == pytest.approx(10 * 784 * math.log(2), rel=1e-5)


@pytest.fixture(scope="module")
def small(mnist):
    """1,000 real training images and 500 real test images."""
    return mnist.train_images[:1000], mnist.test_images[:500]


@pytest.mark.parametrize("lr", [10.0, 1e30])
def test_ae_at_a_huge_learning_rate_diverges(small, lr):
    train_x, test_x = small
    model = build_model(ModelConfig(kind="ae"), seed=0)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged, match="Training diverged.*Try a smaller learning rate") as info:
        train(model, train_x, test_x, TrainConfig(epochs=1, lr=lr, batch_size=100, lr_schedule="constant"))
    assert info.value.history == []
    assert all(torch.equal(initial[k], v) for k, v in model.state_dict().items())  # back to good weights


def test_absurd_results_names_nan_weights_and_nan_or_huge_metrics():
    model = build_model(ModelConfig(hidden_sizes=(8,)), seed=0)
    bound = limits.reconstruction_bound(model.config)
    fine = {"test_neg_elbo": 150.0, "test_reconstruction": 140.0, "test_kl": 10.0}
    assert limits.absurd_results(model, fine, bound) is None
    assert "nan" in limits.absurd_results(model, {**fine, "test_kl": float("nan")}, bound)
    assert "3.9e+06" in limits.absurd_results(model, {**fine, "test_reconstruction": 3.9e6}, bound)
    with torch.no_grad():
        next(model.parameters())[0, 0] = float("inf")
    assert "infinite or NaN" in limits.absurd_results(model, fine, bound)


@pytest.mark.parametrize("lr", [10.0, 1e30])
def test_background_job_reports_divergence_and_offers_no_model(mnist, lr):
    model_config, train_config = train_form.make_configs(**{**FORM, "lr": lr, "subset": 1000, "batch_size": 100})
    job = tj.TrainingJob(model_config, train_config, mnist.train_images, mnist.test_images[:500],
                         mnist.test_labels[:500], mnist.dataset_info(), sample_size=200).start()
    assert job.join(120)
    snap = job.snapshot()
    assert snap.state == "diverged" and snap.checkpoint is None and job.checkpoint_bytes() is None
    assert "Training diverged" in snap.message and "smaller learning rate" in snap.message
    assert "not offered as a model" in snap.message


def test_cli_saves_nothing_for_a_diverged_run(tmp_path):
    out = tmp_path / "x.safetensors"
    proc = subprocess.run([sys.executable, "-m", "explorer.cli.train", "--model", "ae", "--lr", "10",
                           "--lr-schedule", "constant", "--epochs", "1", "--subset", "1000", "--batch-size", "100",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "Training diverged" in proc.stderr and "Nothing was saved" in proc.stderr
    assert proc.stdout == "" and not out.exists()
