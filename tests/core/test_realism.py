"""The "looks like a real digit" judge, validated on its labelled set (real MNIST, the
shipped models and classifier): ROC AUC >= 0.95, the shipped threshold near Youden's."""

import numpy as np
import pytest
import torch

from explorer.cli.validate_realism import shipped_models
from explorer.core.classifier import load_classifier
from explorer.core.data import load_split
from explorer.core.realism import (THRESHOLD, balanced_accuracy, build_judge, roc_auc, validation_set,
                                   youden_threshold)


@pytest.fixture(scope="module")
def judge():
    return build_judge(load_classifier().model, load_split(train=True, verify=False)[0])


@pytest.fixture(scope="module")
def scored(judge):
    images, labels = load_split(train=False)
    with torch.inference_mode():
        vs = validation_set(images, labels, shipped_models(), n=200, seed=1)  # not the seed the threshold came from
    return vs, judge.score(vs.images).numpy()


def test_roc_auc_matches_a_direct_count():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    scores = rng.normal(size=300) + labels
    pairs = [(p > n) + 0.5 * (p == n) for p in scores[labels == 1] for n in scores[labels == 0]]
    assert roc_auc(labels, scores) == pytest.approx(np.mean(pairs))
    assert roc_auc([1, 0, 1, 0], [1, 1, 1, 1]) == 0.5
    with pytest.raises(ValueError):
        roc_auc([1, 1], [0.2, 0.3])


def test_the_judge_separates_real_digits_from_non_digits(scored):
    vs, score = scored
    assert set(vs.kinds) >= {"real", "blend", "broken strokes", "noise", "shifted", "cut in half"}
    assert any(k.startswith("reconstruction") for k in vs.kinds) and any(k.startswith("far code") for k in vs.kinds)
    assert roc_auc(vs.labels, score) >= 0.95


def test_the_shipped_threshold_is_near_the_best_one(scored):
    vs, score = scored
    best, _ = youden_threshold(vs.labels, score)
    assert balanced_accuracy(vs.labels, score, THRESHOLD) >= balanced_accuracy(vs.labels, score, best) - 0.02


def test_the_classifier_alone_is_worse(judge, scored):
    """The old score (top probability) is what the judge improves on: blends fool it."""
    vs, score = scored
    assert roc_auc(vs.labels, judge.confidence(vs.images).numpy()) < roc_auc(vs.labels, score) - 0.05


def test_judge_reports_labels_and_handles_empty_input(judge):
    images, labels = load_split(train=False)
    s, real, predicted = judge.judge(images[:50])
    assert s.shape == (50,) and real.dtype == bool and (predicted == labels[:50].numpy()).mean() > 0.9
    assert real.mean() > 0.6  # real test digits: about 76 % (the judge is strict: reconstructions score higher)
    assert judge.judge(torch.zeros(0, 1, 28, 28))[0].shape == (0,)
    assert not judge.judge(torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)))[1].any()
