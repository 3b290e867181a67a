"""The one training loop repeats the runs of the two loops it replaced, to the bit.

The hashes were recorded on main before the loop of ``explorer.core.train`` and the
twins' own loop (``explorer.core.twins``) became one (issue 23), on real MNIST with the
same settings: a VAE with a cosine schedule, a denoising AE on dynamically binarized
digits (every draw of the batch generator: subset, order, binarization, masking, eps),
and the AE/VAE twins (their second noise generator, per-tensor Adam). The same weights
came out with 1 and 2 intra-op threads. A change that moves a draw, an optimiser step
or the order of the models changes a hash. (Recorded with the encoding cache's former
hash layout, then re-expressed in :func:`explorer.core.checkpoint_format.weights_sha256`'s
from the same weights once the two hashes became one.)
"""

from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.checkpoint_format import weights_sha256
from explorer.core.models import build_model
from explorer.core.train import train
from explorer.core.twins import build_twins, train_twins

SINGLE_RUNS = {
    "a28fd3ab9b5f2c3c00e0fdb6d2f520b57ce57a0397dd6681522b3135133fa3b9": (
        ModelConfig(kind="vae", hidden_sizes=(64,)),
        TrainConfig(epochs=2, batch_size=100, lr=2e-3, seed=1, subset=1000, lr_schedule="cosine")),
    "4aafcfe6881ac11ee8a048f577a48b0ffd62b35071354b8507024555c4ee519a": (
        ModelConfig(kind="ae", hidden_sizes=(64,)),
        TrainConfig(epochs=2, batch_size=100, lr=2e-3, seed=2, subset=1000, binarize="dynamic",
                    input_noise="masking", noise_level=0.25)),
}
TWIN_AE = "22e768bb07049da2cda89ae1c7bed542390ecaed58c48563a812ebfed379a215"
TWIN_VAE = "e9193b041a662b7022ff10159ffb5715a44607ba1012dd31a3aebc23ec5be488"


def test_single_trainings_give_the_weights_they_gave_before(mnist):
    for expected, (model_config, train_config) in SINGLE_RUNS.items():
        model = build_model(model_config, seed=train_config.seed)
        before = weights_sha256(model.state_dict())
        result = train(model, mnist.train_images, mnist.test_images[:500], train_config)
        assert len(result.history) == 2 and not result.stopped
        assert weights_sha256(model.state_dict()) != before  # it trained
        assert weights_sha256(model.state_dict()) == expected, model_config


def test_the_twin_training_gives_the_weights_it_gave_before(mnist):
    ae, vae = build_twins(ModelConfig(hidden_sizes=(64,)), seed=3)
    config = TrainConfig(epochs=2, batch_size=100, lr=2e-3, seed=3, subset=1000)
    result = train_twins((ae, vae), mnist.train_images, config, report_every=7)
    assert result.steps == 20 and [step for step, *_ in result.losses] == [7, 14, 20]
    assert (weights_sha256(ae.state_dict()), weights_sha256(vae.state_dict())) == (TWIN_AE, TWIN_VAE)
    assert [list(r) for r in result.histories[0]] == [["epoch", "train_loss", "seconds", "lr"]] * 2
    assert not ae.training and not vae.training  # left in eval mode
