"""The decoder export for the browser: weights round-trip exactly through the packing,
the exported forward pass equals the model's decoder mean, unsupported decoders give None."""

import numpy as np
import pytest
import safetensors.numpy
import torch
from torch import nn

from explorer.core.config import ModelConfig
from explorer.core.export import decode_mean_exported, export_decoder, pack_decoder, pack_tensors, unpack_decoder
from explorer.core.latent import decode_z
from explorer.core.models import build_model

CODES = [(0.0, 0.0), (1.3, -2.7), (-3.9, 3.95), (0.05, 0.4)]


def _assert_round_trip(model):
    exported = export_decoder(model)
    packed = pack_decoder(exported)
    back = unpack_decoder(packed)
    linears = [m for m in model.decoder[0] if isinstance(m, nn.Linear)]
    assert len(back["layers"]) == len(linears) == len(exported["layers"])
    for layer, linear in zip(back["layers"], linears):
        assert layer["weight"].dtype == np.float32
        np.testing.assert_array_equal(layer["weight"], linear.weight.detach().numpy())  # bit for bit
        np.testing.assert_array_equal(layer["bias"], linear.bias.detach().numpy())
    assert [l["activation"] for l in back["layers"]] == ["relu"] * (len(linears) - 1) + ["none"]
    assert back["image_shape"] == model.config.image_shape and back["latent_dim"] == model.config.latent_dim
    assert len(packed) % 4 == 0 and len(back["id"]) == 16
    return back


def test_the_shipped_vae_decoder_round_trips_exactly_and_decodes_like_torch(vae_checkpoint):
    model = vae_checkpoint.model
    back = _assert_round_trip(model)
    assert back["condition_size"] == 0
    for z in CODES:
        np.testing.assert_allclose(decode_mean_exported(back, np.array(z)), decode_z(model, z)[0].numpy(), atol=1e-5)


def test_a_conditional_and_a_linear_decoder_round_trip(mnist):
    cvae = build_model(ModelConfig(kind="cvae", latent_dim=2, hidden_sizes=(64, 32)), seed=1)
    back = _assert_round_trip(cvae)
    assert back["condition_size"] == 10 and back["layers"][0]["weight"].shape == (32, 12)
    for y in (0, 7):
        np.testing.assert_allclose(decode_mean_exported(back, np.array(CODES[1]), y),
                                   decode_z(cvae, CODES[1], y=y)[0].numpy(), atol=1e-5)
    linear = build_model(ModelConfig(kind="ae", latent_dim=2, hidden_sizes=(), likelihood="gaussian"), seed=2)
    back = _assert_round_trip(linear)
    assert len(back["layers"]) == 1
    np.testing.assert_allclose(decode_mean_exported(back, np.array(CODES[2])), decode_z(linear, CODES[2])[0].numpy(),
                               atol=1e-5)


def test_two_models_get_different_ids_and_other_decoders_are_not_exported(vae_checkpoint, ae_checkpoint):
    ids = {unpack_decoder(pack_decoder(export_decoder(c.model)))["id"] for c in (vae_checkpoint, ae_checkpoint)}
    assert len(ids) == 2
    model = build_model(ModelConfig(kind="ae", latent_dim=2, hidden_sizes=(16,)), seed=0)
    model.decoder[0][1] = nn.Tanh()  # an activation the browser does not know
    assert export_decoder(model) is None
    model = build_model(ModelConfig(kind="ae", latent_dim=2, hidden_sizes=(16,)), seed=0)
    model.decoder = nn.Sequential(nn.Linear(2, 784), nn.Unflatten(1, (1, 28, 28)))  # not an MLPDecoder
    assert export_decoder(model) is None
    with pytest.raises(ValueError, match="not a packed decoder"):
        unpack_decoder(b"\x00" * 16)
    with pytest.raises(ValueError, match="not a packed decoder"):  # safetensors, but no decoder in it
        unpack_decoder(pack_tensors({"pixels": np.zeros((2, 3), dtype=np.uint8)}, {"n": 1}))


def test_the_packed_decoder_is_safetensors_that_the_library_reads(vae_checkpoint):
    """The wire format is plain safetensors: safetensors' own reader gets the float32 weights
    of every layer (the page parses the same bytes, explorer/ui/components/safetensors.js)."""
    exported = export_decoder(vae_checkpoint.model)
    tensors = safetensors.numpy.load(pack_decoder(exported))
    assert sorted(tensors) == sorted(f"layers.{i}.{p}" for i in range(len(exported["layers"]))
                                     for p in ("weight", "bias"))
    for i, layer in enumerate(exported["layers"]):
        assert tensors[f"layers.{i}.weight"].dtype == np.float32
        np.testing.assert_array_equal(tensors[f"layers.{i}.weight"], layer["weight"])
        np.testing.assert_array_equal(tensors[f"layers.{i}.bias"], layer["bias"])
