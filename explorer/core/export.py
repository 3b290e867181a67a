"""A decoder's weights for a browser: export, a compact binary packing, and a reference
forward pass in NumPy that the browser's JavaScript mirrors.

Only decoders made of linear layers with ReLU between them (:class:`MLPDecoder`, also
with no hidden layer) and a likelihood whose mean is the sigmoid of the decoder output
(Bernoulli and Gaussian, see :mod:`explorer.core.likelihoods`) are exported; for any
other network :func:`export_decoder` returns None and the caller decodes on the server.

The decoder mean for one code z (latent_dim,) is::

    h = concat(z, one_hot(y))          # y only for a conditional model
    h = relu(W_k h + b_k)              # every layer but the last
    x = sigmoid(W_last h + b_last)     # (C * H * W,) pixels in [0, 1], row-major

Packed layout (:func:`pack_decoder`): safetensors bytes (the same format as the
checkpoints; parsed in the page by ``explorer/ui/components/safetensors.js``), one float32
tensor per layer's weight ``layers.<i>.weight`` (out, in) and bias ``layers.<i>.bias``
(out,), and the description (id, latent size, activations, ...) as JSON in the metadata
entry ``description`` (:func:`pack_tensors`).
"""

from __future__ import annotations

import hashlib
import json
import struct

import numpy as np
import safetensors
import safetensors.numpy
import torch
from torch import nn

from explorer.core.likelihoods import Bernoulli, Gaussian
from explorer.core.networks import MLPDecoder

#: Activations the browser knows, by name.
ACTIVATIONS = ("relu", "none")


def export_decoder(model) -> dict | None:
    """The decoder of ``model`` as float32 arrays and a layer description, or None when
    the browser cannot run it (not an MLP decoder, or a likelihood mean other than sigmoid).

    Args:
        model: an :class:`~explorer.core.models.base.Autoencoder`.

    Returns:
        ``{"latent_dim": L, "condition_size": K (0 unless conditional), "image_shape":
        (C, H, W), "mean": "sigmoid", "layers": [{"weight": (out, in) float32, "bias":
        (out,) float32, "activation": "relu" | "none"}, ...]}``; the first layer takes
        L + K inputs (z, then the one-hot label), the last gives C * H * W outputs.
    """
    decoder = getattr(model, "decoder", None)
    if type(decoder) is not MLPDecoder or type(model.likelihood) not in (Bernoulli, Gaussian):
        return None
    modules = list(decoder[0])
    layers: list[dict] = []
    for i, module in enumerate(modules):
        if isinstance(module, nn.Linear):
            following = modules[i + 1] if i + 1 < len(modules) else None
            if following is not None and not isinstance(following, (nn.ReLU, nn.Linear)):
                return None
            layers.append({
                "weight": module.weight.detach().cpu().to(torch.float32).numpy().copy(),
                "bias": module.bias.detach().cpu().to(torch.float32).numpy().copy(),
                "activation": "relu" if isinstance(following, nn.ReLU) else "none",
            })
        elif not isinstance(module, nn.ReLU):
            return None
    if not layers or layers[-1]["activation"] != "none":
        return None
    config = model.config
    condition_size = config.num_classes if model.is_conditional else 0
    if layers[0]["weight"].shape[1] != config.latent_dim + condition_size \
            or layers[-1]["weight"].shape[0] != config.num_pixels:
        return None
    return {"latent_dim": int(config.latent_dim), "condition_size": int(condition_size),
            "image_shape": tuple(int(s) for s in config.image_shape), "mean": "sigmoid", "layers": layers}


def pack_tensors(tensors: dict[str, np.ndarray], description: dict) -> bytes:
    """One binary message for the page: safetensors bytes of ``tensors`` (name -> array),
    with ``description`` as compact JSON in the metadata entry ``description``.

    Layout (https://github.com/huggingface/safetensors): an 8-byte little-endian header
    length n, n bytes of JSON (each tensor's dtype, shape and byte offsets, and
    ``__metadata__``; padded so the data starts 8-byte aligned), then the tensors'
    little-endian bytes.
    """
    arrays = {name: np.ascontiguousarray(a) for name, a in tensors.items()}
    return safetensors.numpy.save(arrays, metadata={"description": json.dumps(description, separators=(",", ":"))})


def unpack_tensors(data: bytes, what: str) -> tuple[dict, dict[str, np.ndarray]]:
    """Inverse of :func:`pack_tensors`: (description, name -> array).

    Raises:
        ValueError: ``data`` is not safetensors bytes with a description (``what`` names
            the expected content in the message).
    """
    try:
        tensors = safetensors.numpy.load(bytes(data))
        (n,) = struct.unpack_from("<Q", data, 0)
        description = json.loads(json.loads(data[8:8 + n])["__metadata__"]["description"])
    except (safetensors.SafetensorError, struct.error, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"not a packed {what} (safetensors bytes with a description): {error}") from error
    return description, tensors


def pack_decoder(exported: dict) -> bytes:
    """:func:`export_decoder`'s result as safetensors bytes (layout in the module docstring).

    The description carries ``id``: the first 16 hex digits of the SHA-256 of the
    weights' float32 bytes (layer by layer, weight then bias), so a browser can tell two
    decoders apart.
    """
    tensors, blobs = {}, []
    for i, layer in enumerate(exported["layers"]):
        w = np.ascontiguousarray(layer["weight"], dtype="<f4")
        b = np.ascontiguousarray(layer["bias"], dtype="<f4")
        tensors[f"layers.{i}.weight"], tensors[f"layers.{i}.bias"] = w, b
        blobs += [w.tobytes(), b.tobytes()]
    description = {"id": hashlib.sha256(b"".join(blobs)).hexdigest()[:16], "latent_dim": exported["latent_dim"],
                   "condition_size": exported["condition_size"], "image_shape": list(exported["image_shape"]),
                   "mean": exported["mean"], "activations": [layer["activation"] for layer in exported["layers"]]}
    return pack_tensors(tensors, description)


def unpack_decoder(data: bytes) -> dict:
    """Inverse of :func:`pack_decoder`: the exported dict, plus ``id``.

    Raises:
        ValueError: not a packed decoder.
    """
    header, tensors = unpack_tensors(data, "decoder")
    try:
        layers = [{"weight": tensors[f"layers.{i}.weight"], "bias": tensors[f"layers.{i}.bias"],
                   "activation": activation} for i, activation in enumerate(header["activations"])]
    except KeyError as error:
        raise ValueError(f"not a packed decoder: no {error} in it") from error
    return {"id": header["id"], "latent_dim": header["latent_dim"], "condition_size": header["condition_size"],
            "image_shape": tuple(header["image_shape"]), "mean": header["mean"], "layers": layers}


def decode_mean_exported(exported: dict, z: np.ndarray, y: int | None = None) -> np.ndarray:
    """The decoder mean computed from exported weights in NumPy (float32 storage, the
    browser's order of operations).

    Args:
        exported: from :func:`export_decoder` or :func:`unpack_decoder`.
        z: (latent_dim,) one code.
        y: the label of a conditional decoder (ignored when ``condition_size`` is 0).

    Returns:
        (C, H, W) float32 pixels in [0, 1].
    """
    h = np.asarray(z, dtype=np.float64).reshape(-1)
    if exported["condition_size"]:
        h = np.concatenate([h, np.eye(exported["condition_size"])[int(y)]])
    for layer in exported["layers"]:
        h = layer["weight"].astype(np.float64) @ h + layer["bias"]
        if layer["activation"] == "relu":
            h = np.maximum(h, 0.0)
    return (1.0 / (1.0 + np.exp(-h))).astype(np.float32).reshape(exported["image_shape"])
