"""Your own digit: a drawing canvas and an image upload, made MNIST-like
(:func:`explorer.core.preprocess.to_mnist`) for a model to encode."""

from __future__ import annotations

import streamlit as st
import torch

from explorer.core.images import png_bytes, upscale_nearest
from explorer.core.preprocess import EmptyImageError, read_image, to_mnist

CANVAS_SIZE = 280
STROKE_WIDTH = 18
PREVIEW_SCALE = 5

PREPROCESS_HELP = (
    "As MNIST was made (LeCun et al.): the ink's bounding box is scaled to fit 20x20 pixels keeping its "
    "shape, then placed in a 28x28 field with its centre of mass in the middle. Dark ink on light paper "
    "is inverted to MNIST's white on black."
)


def _canvas(key: str):
    from streamlit_drawable_canvas import st_canvas

    return st_canvas(stroke_width=STROKE_WIDTH, stroke_color="#FFFFFF", background_color="#000000",
                     height=CANVAS_SIZE, width=CANVAS_SIZE, drawing_mode="freedraw", return_image_data=True,
                     key=key)


def your_digit_panel(key_prefix: str = "") -> torch.Tensor | None:
    """A canvas to draw a digit on and an uploader for a photo of one; shows the
    MNIST-style 28x28 image (an upload, when given, wins over the drawing).

    Args:
        key_prefix: prepended to the widgets' keys (``draw_canvas``, ``draw_upload``)
            and to the container's key ``<prefix>draw_panel``.

    Returns:
        (1, 28, 28) float32 pixels in [0, 1], or None while nothing usable is drawn or uploaded.
    """
    with st.container(key=f"{key_prefix}draw_panel"):
        canvas_col, upload_col = st.columns([3, 2])
        with canvas_col:
            st.caption("Draw one digit with the mouse, large, white on black.")
            result = _canvas(f"{key_prefix}draw_canvas")
        with upload_col:
            upload = st.file_uploader("...or upload a picture of a digit", type=["png", "jpg", "jpeg"],
                                      key=f"{key_prefix}draw_upload",
                                      help="A photo or scan of one digit; dark ink on light paper is fine.")
            image = None
            source = None
            try:
                if upload is not None:
                    image, source = to_mnist(read_image(upload.getvalue())), "upload"
                elif result is not None and result.image_data is not None:
                    image, source = to_mnist(result.image_data), "drawing"
            except EmptyImageError:
                image = None  # an empty canvas: nothing to say yet
            except ValueError as exc:
                st.warning(str(exc))
            if image is None:
                st.caption("Your digit, made MNIST-like, will appear here.")
                return None
            st.image(png_bytes(upscale_nearest(image, PREVIEW_SCALE)), output_format="PNG",
                     caption=f"your {source}, 28x28 as MNIST", width=28 * PREVIEW_SCALE)
            st.caption(PREPROCESS_HELP)
            return image


NEAREST_K = 3


def your_digit_code_panel(view, image: torch.Tensor) -> None:
    """What the view's model makes of ``image``: its code mu (and sigma), the
    reconstruction (decoder mean at mu) and the nearest training images, in a container
    keyed ``<prefix>draw_result``.

    Args:
        view: a :class:`explorer.ui.views.common.ShownModel`.
        image: (1, 28, 28) pixels in [0, 1] from :func:`your_digit_panel`.
    """
    from explorer.core.latent import decode_z
    from explorer.core.preprocess import nearest_training_images
    from explorer.ui.state import caches

    model = view.model
    y = view.condition()
    labels = None if y is None else torch.tensor([y])
    with torch.inference_mode():
        mu, logvar = model.encode(image.unsqueeze(0), labels)
    mu = mu[0]
    reconstruction = decode_z(model, mu.numpy(), y=y)[0]
    train_images, train_labels, _ = caches.train_split()
    indices, distances = nearest_training_images(image, train_images, k=NEAREST_K)
    fmt = ", ".join(f"{v:.3f}" for v in mu.tolist())
    with st.container(key=view.keys("draw_result")):
        lines = [f"**Your digit's code** mu = ({fmt})"]
        if logvar is not None:
            lines.append("sigma = (" + ", ".join(f"{v:.3f}" for v in logvar[0].mul(0.5).exp().tolist()) + ")")
        st.markdown("  \n".join(lines))
        cols = st.columns(1 + NEAREST_K)
        cols[0].image(png_bytes(upscale_nearest(reconstruction, PREVIEW_SCALE)), output_format="PNG",
                      caption="reconstruction (decoder mean at mu)", width=28 * PREVIEW_SCALE)
        for col, i, d in zip(cols[1:], indices.tolist(), distances.tolist()):
            col.image(png_bytes(upscale_nearest(train_images[i], PREVIEW_SCALE)), output_format="PNG",
                      caption=f"training digit {int(train_labels[i])}, distance {d:.1f}", width=28 * PREVIEW_SCALE)
        st.caption("mu (and sigma): the mean (and standard deviation) of the encoder's q(z|x) for your digit; "
                   "compare mu with where the test digits lie on the map. Right: the training images nearest "
                   "to your digit in pixel space (Euclidean distance over the 784 pixels): does the model just "
                   "remember them?")
