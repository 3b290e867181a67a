"""The command lines talk: progress bars on stderr (stdout keeps only the JSON), help and
defaults for every option, and an unwritable output refused before any training."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from tests.helpers.paths import REPO


def test_train_shows_per_batch_progress_on_stderr_and_only_json_on_stdout(tmp_path):
    out = tmp_path / "tiny.safetensors"
    proc = subprocess.run([sys.executable, "-m", "explorer.cli.train", "--subset", "256", "--batch-size", "64",
                           "--epochs", "1", "--hidden", "32", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)  # stdout is exactly one JSON object
    assert metrics["test_neg_elbo"] > 0 and out.exists()
    # tqdm's bar: batches done of 4, a rate and the time left, then the epoch's summary line
    assert "epoch 1/1" in proc.stderr and "4/4" in proc.stderr and "batch/s" in proc.stderr
    assert "<00:00" in proc.stderr or "<?" in proc.stderr  # the time-left field
    assert "epoch 1: train loss" in proc.stderr


CLI_NAMES = ["train", "train_classifier", "evaluate", "pretrain", "validate_realism", "lesson_check"]


def _parsers():
    import importlib

    return {name: importlib.import_module(f"explorer.cli.{name}").parser() for name in CLI_NAMES}


def test_every_command_line_module_is_checked():
    assert {p.stem for p in (REPO / "explorer" / "cli").glob("*.py")} - {"__init__", "options", "progress"} == set(CLI_NAMES)


@pytest.mark.parametrize("name", CLI_NAMES)
def test_every_option_has_help_and_shows_its_default(name):
    p = _parsers()[name]
    text = p.format_help()
    for action in p._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{name}: {action.dest} has no help"
        if action.option_strings and not action.required and action.default is not None:
            shown = " ".join(p._get_formatter()._format_action(action).split())  # unwrap the lines
            assert f"(default: {action.default}" in shown, f"{name}: {action.dest}"
    assert "(default: " in text or len(p._actions) == 1  # lesson_check has no option but --help


@pytest.mark.parametrize("module, options", [("explorer.cli.train", ["--epochs", "1"]),
                                             ("explorer.cli.train_classifier", ["--epochs", "1"]),
                                             ("explorer.cli.pretrain", ["--finetune-epochs", "1"])])
def test_an_unwritable_output_is_refused_before_training(module, options, monkeypatch, capsys):
    import importlib

    import explorer.core.data as data

    def no_training(*args, **kwargs):
        raise AssertionError("the data were loaded: training would have started")

    monkeypatch.setattr(data, "load_mnist", no_training)
    code = importlib.import_module(module).main([*options, "--out", "/proc/x/y.safetensors"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "error: cannot write /proc/x/y.safetensors" in err


def test_check_writable_finds_folders_and_read_only_places(tmp_path):
    from explorer.core.files import check_writable

    check_writable(tmp_path / "new" / "dir" / "x.safetensors")  # created folders are fine
    assert not list((tmp_path / "new" / "dir").iterdir())  # the probe leaves nothing behind
    with pytest.raises(ValueError, match="is a folder"):
        check_writable(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="cannot write"):
        check_writable(tmp_path / "file" / "x.safetensors")  # a file where a folder should be


def test_evaluate_binarized_protocol_reports_mean_and_spread_with_bars_on_stderr():
    proc = subprocess.run([sys.executable, "-m", "explorer.cli.evaluate", "checkpoints/mnist_vae_z2.safetensors",
                           "--iw-samples", "2", "--protocol", "binarized", "--draws", "2", "--binarized-iw-samples", "2"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert len(out["binarized_test_neg_elbo_per_draw"]) == 2 and out["binarized_draws"] == 2
    assert out["binarized_test_neg_elbo"] == sum(out["binarized_test_neg_elbo_per_draw"]) / 2
    assert out["binarized_test_neg_elbo_std"] > 0 and out["binarized_iw_samples"] == 2
    # the same model on binary draws of the same digits: a figure near the grey-level one
    assert abs(out["binarized_test_neg_elbo"] - out["test_neg_elbo"]) < 10
    assert "-log p(x), k=2" in proc.stderr and "binarized draw 2/2" in proc.stderr and "sample/s" in proc.stderr


def test_the_classifier_reports_every_batch_to_its_progress_callback(mnist):
    from explorer.core.classifier import ClassifierConfig, train_classifier

    seen = []
    train_classifier(mnist.train_images[:200], mnist.train_labels[:200], ClassifierConfig(architecture="mlp",
                     hidden_sizes=(16,)), epochs=2, batch_size=64, on_batch=lambda *a: seen.append(a))
    assert [(e, b, n) for e, b, n, _ in seen] == [(e, b, 4) for e in (1, 2) for b in (1, 2, 3, 4)]
    assert all(loss > 0 for *_, loss in seen)


def test_evaluate_refuses_zero_threads_before_loading_anything(capsys):
    from explorer.cli import evaluate

    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["no-such-file.safetensors", "--threads", "0"])
    assert exit_info.value.code == 2
    assert "--threads must be >= 1" in capsys.readouterr().err
