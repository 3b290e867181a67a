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
