"""Stacked (denoising) autoencoder pretraining on real MNIST: each greedy layer learns to
reconstruct its input, the masking fraction reaches the layers, a pretrained stack fine-tuned
on 100 labels classifies far better than chance, the filters' sharpness figure, and the
command line (help, bad input refused with exit 2, one run end to end)."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from explorer.core.labels import select_labels
from explorer.core.pretraining import StackConfig, build_stack, classification_error, finetune, pretrain
from explorer.core.stack_files import StackFileError, load_stack, save_stack
from explorer.core.stack_filters import filter_grid, filter_sharpness, first_layer_filters


@pytest.fixture(scope="module")
def small(mnist):
    """5,000 training and 2,000 test images, one thread (the machine is shared)."""
    torch.set_num_threads(1)
    return mnist.train_images[:5000], mnist.test_images[:2000], mnist.test_labels[:2000]


def test_greedy_pretraining_lowers_every_layers_reconstruction_error(small):
    images, test_images, _ = small
    config = StackConfig(hidden_sizes=(64, 32), noise=0.25, pretrain_epochs=2, seed=0)
    net = build_stack(config)
    records = pretrain(net, images, config, held_out=test_images)
    assert [r.layer for r in records] == [1, 2]
    for r in records:  # on held-out clean codes, nats per example
        assert r.reconstruction_after < 0.8 * r.reconstruction_before, r
        assert len(r.epoch_seconds) == 2
    assert records[1].reconstruction_before > 0  # scored on layer 1's trained codes: above the floor


def test_the_masking_fraction_reaches_each_layers_input(small):
    images = small[0][:1000]
    for noise in (0.0, 0.25, 0.5):
        config = StackConfig(hidden_sizes=(16, 8), noise=noise, pretrain_epochs=1, batch_size=500, seed=1)
        net = build_stack(config)
        seen: dict[int, list[float]] = {0: [], 1: []}
        for k, layer in enumerate(net.layers):  # what each layer's encoder gets while it trains
            layer.register_forward_pre_hook(
                lambda module, inputs, k=k: seen[k].append(float((inputs[0] == 0).float().mean()))
                if torch.is_grad_enabled() else None)  # the scores before and after run without grad
        clean_zeros_1 = float((images.flatten(1) == 0).float().mean())
        pretrain(net, images, config, held_out=images[:10])
        # layer 1's training input: MNIST's own zeros plus a fraction `noise` of the rest
        expected = clean_zeros_1 + (1 - clean_zeros_1) * noise
        assert len(seen[0]) == len(seen[1]) == 2  # two training batches per layer
        assert all(abs(z - expected) < 0.02 for z in seen[0]), (noise, seen[0], expected)
        # layer 2's inputs are sigmoid codes (never exactly 0): only the mask makes zeros
        assert all(abs(z - noise) < 0.03 for z in seen[1]), (noise, seen[1])


def test_a_pretrained_stack_fine_tuned_on_100_labels_beats_chance(mnist, small):
    images, test_images, test_labels = small
    config = StackConfig(hidden_sizes=(128, 64), noise=0.25, pretrain_epochs=2, finetune_epochs=100, seed=0)
    net = build_stack(config)
    pretrain(net, images, config, held_out=test_images[:200])
    known = select_labels(mnist.train_labels, 100, 0, 10)
    finetune(net, mnist.train_images[known], mnist.train_labels[known], config)
    error = classification_error(net, test_images, test_labels)
    assert error < 0.5, error  # chance is 0.9


def test_sharpness_is_zero_for_gaussian_filters_and_large_for_a_stroke():
    g = torch.Generator().manual_seed(0)
    gaussian = torch.randn(50, 1, 28, 28, generator=g)
    assert abs(filter_sharpness(gaussian)) < 0.1
    uniform = torch.rand(50, 1, 28, 28, generator=g)
    assert abs(filter_sharpness(uniform) + 1.2) < 0.1  # a uniform distribution's excess kurtosis
    stroke = torch.zeros(1, 1, 28, 28)
    stroke[0, 0, 10:18, 13] = 1.0
    stroke[0, 0, 10:18, 14] = -1.0
    assert filter_sharpness(stroke) > 20
    assert filter_sharpness(stroke) == pytest.approx(filter_sharpness(-3 * stroke))  # scale and sign


def test_filters_tile_into_one_grid_and_a_stack_survives_saving(tmp_path):
    config = StackConfig(hidden_sizes=(20, 10), pretrain_epochs=0, seed=3)
    net = build_stack(config)
    filters = first_layer_filters(net, 12)
    assert filters.shape == (12, 1, 28, 28)
    grid = filter_grid(filters, nrow=4)
    assert grid.shape == (3, 3 * 30 + 2, 4 * 30 + 2) and float(grid.min()) >= 0 and float(grid.max()) <= 1
    path = tmp_path / "s.safetensors"
    save_stack(path, net, config, {"sharpness": 1.5})
    loaded, loaded_config, results = load_stack(path)
    assert loaded_config == config and results == {"sharpness": 1.5}
    assert torch.equal(loaded.layers[0].weight, net.layers[0].weight)
    path.write_bytes(b"not a stack")
    with pytest.raises(StackFileError, match="not a readable safetensors"):
        load_stack(path)


@pytest.mark.parametrize("bad", [dict(noise=1.0), dict(noise=-0.1), dict(hidden_sizes=(0, 5)), dict(hidden_sizes=()),
                                 dict(pretrain_epochs=-1), dict(batch_size=0), dict(finetune_lr=float("nan"))])
def test_absurd_settings_are_refused(bad):
    with pytest.raises(ValueError):
        StackConfig(**bad)


# --- command line ------------------------------------------------------------------------


def test_every_option_has_help_and_shows_its_default():
    from explorer.cli.pretrain import parser

    p = parser()
    for action in p._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, action.dest
        if action.option_strings and action.default is not None:
            shown = " ".join(p._get_formatter()._format_action(action).split())
            assert f"(default: {action.default}" in shown, action.dest


@pytest.mark.parametrize("args, message", [
    (["--noise", "1.5"], "masking fraction must be in [0, 1)"),
    (["--labels", "0"], "number of known labels must be between 1"),
    (["--labels", "100", "100"], "lists a count twice"),
    (["--hidden", "0"], "hidden widths must be between 1"),
    (["--finetune-epochs", "0"], "--finetune-epochs must be at least 1"),
    (["--out", "/proc/stack.safetensors"], "cannot write /proc/stack.safetensors"),
    (["--out", "stack.pt"], "--out must end in .safetensors"),
    (["--noise", "lots"], "invalid float value"),
])
def test_bad_input_exits_2_with_one_clear_line(args, message, capsys):
    from explorer.cli.pretrain import main

    try:  # argparse's errors exit; an unwritable output is refused in one line and returns 2
        code = main(args)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_small_run_prints_one_json_line_per_label_count_and_its_stack_fine_tunes_again(tmp_path, capsys):
    from explorer.cli.pretrain import main

    out, png = tmp_path / "stack.safetensors", tmp_path / "filters.png"
    assert main(["--hidden", "32", "16", "--subset", "2000", "--pretrain-epochs", "1", "--finetune-epochs", "20",
                 "--labels", "100", "1000", "--noise", "0.5", "--threads", "1", "--filters", str(png),
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    runs = [json.loads(line) for line in captured.out.splitlines()]  # stdout: only the JSON lines
    assert [r["labels"] for r in runs] == [100, 1000]
    assert all(0 <= r["test_error"] < 0.9 and r["noise"] == 0.5 for r in runs)
    assert "layer 1: reconstruction" in captured.err and "batch/s" in captured.err  # progress on stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _, config, results = load_stack(out)
    assert config.hidden_sizes == (32, 16) and [r["labels"] for r in results["runs"]] == [100, 1000]
    # --init: the saved pretrained stack, fine-tuned again without pretraining
    assert main(["--init", str(out), "--labels", "100", "--finetune-epochs", "5", "--threads", "1"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["hidden"] == [32, 16] and again["noise"] == 0.5 and again["pretrain_epochs"] == 1
    assert again["sharpness"] == runs[0]["sharpness"]  # the same first layer
