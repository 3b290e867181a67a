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

Packed layout (:func:`pack_decoder`), little-endian: the 4 bytes ``VXD1``, a uint32 n,
n bytes of UTF-8 JSON (the description, padded with spaces to a multiple of 4), then
every layer's weight (out, in) row-major and bias (out,) as float32, layer by layer.
"""

from __future__ import annotations

import hashlib
import json
import struct

import numpy as np
import torch
from torch import nn

from explorer.core.likelihoods import Bernoulli, Gaussian
from explorer.core.networks import MLPDecoder

MAGIC = b"VXD1"
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


def pack_framed(magic: bytes, header: dict, body: bytes) -> bytes:
    """One binary message for the page: 4-byte ``magic``, the header's length as a
    little-endian uint32, the header as compact JSON padded with spaces to a multiple of
    4 bytes (so a Float32Array over the body is aligned), then ``body``."""
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    return magic + struct.pack("<I", len(text)) + text + body


def unpack_framed(data: bytes, magic: bytes, what: str) -> tuple[dict, int]:
    """Inverse of :func:`pack_framed`: (header, offset of the body).

    Raises:
        ValueError: ``data`` does not start with ``magic`` (``what`` names it in the message).
    """
    if data[:4] != magic or len(data) < 8:
        raise ValueError(f"not a packed {what} (no {magic.decode()} header)")
    (n,) = struct.unpack_from("<I", data, 4)
    return json.loads(data[8:8 + n]), 8 + n


def pack_decoder(exported: dict) -> bytes:
    """:func:`export_decoder`'s result as bytes (layout in the module docstring).

    The description carries ``id``: the first 16 hex digits of the SHA-256 of the
    weights' bytes, so a browser can tell two decoders apart.
    """
    blobs, layers, offset = [], [], 0
    for layer in exported["layers"]:
        w = np.ascontiguousarray(layer["weight"], dtype="<f4")
        b = np.ascontiguousarray(layer["bias"], dtype="<f4")
        n_out, n_in = w.shape
        layers.append({"in": n_in, "out": n_out, "weight": offset, "bias": offset + w.size,
                       "activation": layer["activation"]})
        offset += w.size + b.size
        blobs += [w.tobytes(), b.tobytes()]
    weights = b"".join(blobs)
    header = {"id": hashlib.sha256(weights).hexdigest()[:16], "latent_dim": exported["latent_dim"],
              "condition_size": exported["condition_size"], "image_shape": list(exported["image_shape"]),
              "mean": exported["mean"], "layers": layers}
    return pack_framed(MAGIC, header, weights)


def unpack_decoder(data: bytes) -> dict:
    """Inverse of :func:`pack_decoder`: the exported dict (arrays are read-only views),
    plus ``id``.

    Raises:
        ValueError: not a packed decoder.
    """
    header, offset = unpack_framed(data, MAGIC, "decoder")
    floats = np.frombuffer(data, dtype="<f4", offset=offset)
    layers = [{"weight": floats[l["weight"]:l["weight"] + l["in"] * l["out"]].reshape(l["out"], l["in"]),
               "bias": floats[l["bias"]:l["bias"] + l["out"]], "activation": l["activation"]}
              for l in header["layers"]]
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
