"""AppTest helpers shared by the page tests: which images a container shows."""

from __future__ import annotations

import torch
from streamlit.runtime.memory_media_file_storage import _calculate_file_id

from explorer.core.images import png_bytes, upscale_nearest


def image_id(image: torch.Tensor, scale: int) -> str:
    """Streamlit's media id of the PNG the app shows for this image (id = hash of the bytes)."""
    return _calculate_file_id(png_bytes(upscale_nearest(image, scale)), "image/png")


def _imgs(node):
    if node.type == "image":
        return list(node.proto.imgs)
    return [img for child in getattr(node, "children", {}).values() for img in _imgs(child)]


def shown_ids(at, container_key) -> list[str]:
    """Media ids of the images inside the container with this key."""
    urls = [img.url for element in at.get_by_key(container_key).children.values() for img in _imgs(element)]
    return [url.rsplit("/", 1)[1].split(".")[0] for url in urls]


def decoded_view(at, container_key):
    """What the decoded-image container shows: ``("browser", data, exported)`` for the
    in-browser decoder (the view element's JSON, and the weights unpacked from the page's
    one weights element of that decoder: it is drawn outside the container's fragment,
    ``browser_decoder.send_weights``), or ``("server", media ids, None)`` for server-drawn
    images."""
    import json

    from explorer.core.export import unpack_decoder

    children = list(at.get_by_key(container_key).children.values())
    components = [c for c in children if c.type == "bidi_component"]
    if not components:
        return "server", shown_ids(at, container_key), None
    views = [json.loads(c.proto.json) for c in components if c.proto.WhichOneof("data") == "json"]
    assert len(views) == 1, views
    page_weights = [unpack_decoder(c.proto.bytes) for c in at.get("bidi_component")
                    if c.proto.WhichOneof("data") == "bytes" and c.proto.component_name.endswith("browser_decoder")]
    weights = [w for w in page_weights if w["id"] == views[0]["net"]]
    assert len(weights) == 1, ([w["id"] for w in page_weights], views[0]["net"])
    return "browser", views[0], weights[0]


def assert_decodes(at, container_key, model, z, scale, y=None) -> str:
    """The container decodes ``z`` with ``model``'s decoder mean: in the browser (the view
    is told z and y, and the weights it gets give the model's pixels within 1e-5) or on
    the server (the PNG of that image). Returns which of the two."""
    import numpy as np

    from explorer.core.export import decode_mean_exported
    from explorer.core.latent import decode_z

    expected = decode_z(model, z, y=y)[0]
    where, shown, exported = decoded_view(at, container_key)
    if where == "server":
        assert shown == [image_id(expected, scale)]
        return where
    assert shown["z"] == [float(v) for v in z] and shown["y"] == (0 if y is None else y)
    assert shown["net"] == exported["id"] and shown["size"] == 28 * scale
    np.testing.assert_allclose(decode_mean_exported(exported, np.asarray(z), y), expected.numpy(), atol=1e-5)
    return where


def grid_shown(at, container_key: str = "manifold_grid"):
    """The manifold grid a container shows: ``(description, image)`` with the image as
    (H, W, 3) uint8, from the canvas element's packed pixels (``browser_grid``) tiled as
    torchvision's make_grid does (white padding), or from the Plotly figure's PNG
    (description None) when the browser path is off."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    from explorer.ui.components.browser_grid import unpack_grid

    children = list(at.get_by_key(container_key).children.values())
    components = [c for c in children if c.type == "bidi_component"]
    if not components:
        import json

        spec = json.loads(children[0].proto.spec)
        source = spec["data"][0]["source"]
        return None, np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).convert("RGB"))
    (component,) = components
    description, pixels = unpack_grid(component.proto.bytes)
    n, (c, h, w), pad = description["n"], description["shape"], description["padding"]
    image = np.full((c, n * (h + pad) + pad, n * (w + pad) + pad), 255, dtype=np.uint8)
    for k, cell in enumerate(pixels.reshape(n * n, c, h, w)):
        top, left = pad + (k // n) * (h + pad), pad + (k % n) * (w + pad)
        image[:, top:top + h, left:left + w] = cell
    return description, np.repeat(image, 3, axis=0).transpose(1, 2, 0) if c == 1 else image.transpose(1, 2, 0)


def shipped_views(names: tuple[str, ...], prefixes: tuple[str, ...] = ("a_", "b_")):
    """For a page function run by ``AppTest.from_function``: the session set up, then
    (column, view) for each shipped checkpoint in ``names``, side by side, each view with
    its own key prefix."""
    import streamlit as st

    from explorer.ui.state import registry, session
    from explorer.ui.views import ShownModel

    session.init_session_state()
    for column, prefix, name in zip(st.columns(len(names)), prefixes, names):
        entry = registry.resolve_model(f"{registry.FILE_PREFIX}{registry.CHECKPOINT_DIR / name}")
        yield column, ShownModel.create(entry, prefix)


def run_page_function(page, timeout: int = 60):
    """An AppTest of the page function ``page``, run once without an exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(page, default_timeout=timeout)
    at.run()
    assert not at.exception, at.exception
    return at


def click_map(at, points: list[dict], prefix: str = "") -> None:
    """Click the view's latent map as the page reports it, and run: the marks element's
    trigger callback (``explorer.ui.components.map_marks``) keeps the clicked points, dicts with
    ``curve_number``, ``point_index``, ``x``, ``y``, ``customdata``, in ``<prefix>map_click``
    before the run (the browser tests click the real map)."""
    at.session_state[f"{prefix}map_click"] = list(points)
    at.run()


def map_mark(at, name: str, prefix: str = "") -> dict | None:
    """The mark ``name`` (``map_figure.SELECTION_MARKS`` or ``map_figure.STAR_MARK``), a Plotly
    layout shape, that the page puts on the view's latent map (element ``<prefix>map_marks``,
    see ``explorer.ui.components.map_marks``), or None where it is not shown. Also checks that the
    map's figure itself has no marks (so a click leaves it as it was)."""
    import json

    spec = json.loads(at.get_by_key(f"{prefix}latent_map").proto.spec)
    assert not [s for s in spec["layout"].get("shapes", []) if s.get("name") == name]
    data = json.loads(at.get_by_key(f"{prefix}map_marks").proto.json)
    assert data["map"] == f".st-key-{prefix}map_panel .js-plotly-plot" and name in data["names"]
    shapes = [s for s in data["shapes"] if s["name"] == name]
    assert len(shapes) <= 1
    return shapes[0] if shapes else None
