"""The decoder in the browser, in headless chromium against `streamlit run app.py`: the
page's safetensors parser reads what Python writes, and the page holds the decoder's
weights bit for bit; a slider step and a mouse move over empty map space redraw the canvas
at once, with the pixels PyTorch gives for that z; the Compare page's two models decode
with their own weights; with the browser path off the server draws the image as before
(skips without chromium)."""

import base64
import io
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from PIL import Image
from playwright.sync_api import expect

from explorer.core.export import export_decoder, pack_decoder, unpack_decoder
from explorer.core.latent import decode_z
from explorer.ui.components import browser_decoder
from explorer.ui.views.decoder import DECODED_SCALE
from tests.helpers.browser import (
    MAP,
    MAP_JS,
    canvas_pixels,
    empty_spot,
    open_by_menu,
    open_explorer,
    slider_step_ms,
    streamlit_server,
    use_map,
    wait_decoded,
    wait_for_app_run,
    wait_for_map_markers,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
TIMEOUT = 60_000
CANVAS = ".st-key-decoded_image canvas.vx-canvas"


def _assert_model_pixels(drawn: dict, model, y: int | None = None) -> np.ndarray:
    """The canvas holds ``model``'s decoder mean at the z it reports (with label ``y`` for
    a conditional model): the float mean within 1e-5 of PyTorch's, the drawn 8-bit pixels
    within 1/255."""
    expected = decode_z(model, drawn["z"], y=y)[0, 0].numpy()
    mean = np.asarray(drawn["mean"], dtype=np.float32).reshape(28, 28)
    pixels = np.asarray(drawn["pixels"], dtype=np.float32).reshape(28, 28) / 255
    assert np.abs(mean - expected).max() <= 1e-5
    assert np.abs(pixels - expected).max() <= 1 / 255
    return pixels


#: Records the source ("sliders" or "hover") of each drawing on the canvas from now on.
RECORD_DRAWS_JS = """(sel) => { window.__vxSources = []; const c = document.querySelector(sel);
  new MutationObserver((records) => records.forEach(() => window.__vxSources.push(c.dataset.source)))
    .observe(c, {attributes: true, attributeFilter: ['data-draws']}); }"""


def _wait_canvas(page, selector: str, condition: str, arg=None) -> None:
    page.wait_for_function(
        "([sel, arg]) => { const c = document.querySelector(sel); return !!c && !!c.dataset.z && (" + condition + "); }",
        arg=[selector, arg], polling="raf", timeout=TIMEOUT)


SAFETENSORS_JS = (Path(browser_decoder.__file__).parent / "safetensors.js").read_text()
#: window.__b64(typed array): base64 of its bytes (the page's numbers back to Python exactly).
B64_JS = """window.__b64 = (a) => { const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength); let s = '';
  for (let i = 0; i < u.length; i += 32768) s += String.fromCharCode.apply(null, u.subarray(i, i + 32768));
  return btoa(s); };"""


def test_the_pages_safetensors_parser_reads_what_python_writes(page):
    """Python's safetensors bytes -> the page's parser (explorer/ui/components/safetensors.js, the one wire
    format of the weights and the grid) -> the same numbers, dtypes, shapes and metadata,
    also from a view at an odd offset into a larger buffer (as a message's bytes arrive)."""
    rng = np.random.default_rng(0)
    arrays = {"layers.0.weight": rng.standard_normal((3, 5)).astype(np.float32),
              "pixels": rng.integers(0, 256, (4, 7), dtype=np.uint8),
              "f64": rng.standard_normal(6), "i32": rng.integers(-2**31, 2**31 - 1, (2, 3), dtype=np.int32),
              "i16": rng.integers(-2**15, 2**15 - 1, (5,), dtype=np.int16)}
    data = safetensors.numpy.save(arrays, metadata={"description": '{"n": 2, "model": "vae"}'})
    page.set_content("<html><body></body></html>")
    page.add_script_tag(content=SAFETENSORS_JS + B64_JS)
    for offset in (0, 3):
        parsed = page.evaluate("""([b64, offset]) => {
          const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const buffer = new Uint8Array(raw.length + offset); buffer.set(raw, offset);
          const { metadata, tensors } = parseSafetensors(buffer.subarray(offset)), out = {};
          for (const [name, t] of Object.entries(tensors)) out[name] = { shape: t.shape, bytes: window.__b64(t.data) };
          return { metadata, tensors: out }; }""", [base64.b64encode(data).decode(), offset])
        assert parsed["metadata"] == {"description": '{"n": 2, "model": "vae"}'}
        assert sorted(parsed["tensors"]) == sorted(arrays)
        for name, array in arrays.items():
            got = parsed["tensors"][name]
            assert got["shape"] == list(array.shape)
            back = np.frombuffer(base64.b64decode(got["bytes"]), dtype=array.dtype.newbyteorder("<"))
            np.testing.assert_array_equal(back.reshape(array.shape), array)  # bit for bit
    error = page.evaluate("""() => { try { parseSafetensors(new TextEncoder().encode('PNG and more')); return null; }
                                     catch (e) { return e.message; } }""")
    assert error is not None and "safetensors" in error


@pytest.fixture
def explorer(page, app_url):
    open_explorer(page, app_url, TIMEOUT)
    _wait_canvas(page, CANVAS, "true")
    return page


def test_the_page_holds_the_decoders_weights_bit_for_bit(explorer, vae_checkpoint):
    """The weights element's safetensors bytes, sent through Streamlit and parsed in the
    page, are the model's float32 weights, layer by layer, bit for bit."""
    page = explorer
    exported = export_decoder(vae_checkpoint.model)
    net_id = page.locator(CANVAS).get_attribute("data-net")
    assert net_id == unpack_decoder(pack_decoder(exported))["id"]
    page.add_script_tag(content=B64_JS)
    layers = page.evaluate("""(id) => globalThis.__vxDecoders.nets.get(id).layers.map((l) =>
      ({ n_in: l.nIn, n_out: l.nOut, relu: l.relu, w: window.__b64(l.w), b: window.__b64(l.b) }))""", net_id)
    assert len(layers) == len(exported["layers"])
    for got, want in zip(layers, exported["layers"]):
        shape = want["weight"].shape
        assert (got["n_out"], got["n_in"]) == shape and got["relu"] == (want["activation"] == "relu")
        np.testing.assert_array_equal(np.frombuffer(base64.b64decode(got["w"]), "<f4").reshape(shape), want["weight"])
        np.testing.assert_array_equal(np.frombuffer(base64.b64decode(got["b"]), "<f4"), want["bias"])


def test_a_slider_step_redraws_the_canvas_with_pytorchs_pixels(explorer, vae_checkpoint, artifacts_dir):
    page = explorer
    before = canvas_pixels(page)
    assert before["z"] == [0, 0] and before["source"] == "sliders"
    _assert_model_pixels(before, vae_checkpoint.model)
    slider_step_ms(page)  # ArrowRight on z1; returns once the canvas shows the new z and its run ended
    after = canvas_pixels(page)
    assert after["z"] == [0.05, 0]
    pixels = _assert_model_pixels(after, vae_checkpoint.model)
    assert not np.array_equal(pixels, np.asarray(before["pixels"]) / 255)
    expect(page.locator(".st-key-decoded_image")).to_contain_text("z = (0.05, 0.00): the decoder mean")
    # the map's star follows in the page (the slider's fragment run does not redraw the map)
    wait_for_map_markers(page, None, [0.05, 0.0], TIMEOUT)
    assert canvas_pixels(page)["pixels"] == after["pixels"]  # the slider's run kept the drawing
    # the rerun mounted the view again: one mouse move still draws once under the cursor
    # (no listener left behind). Drawings are told apart by their source: a mount draws the
    # sliders' z again, and a later rerun may mount the view once more at any time.
    page.evaluate(RECORD_DRAWS_JS, CANVAS)
    spot = empty_spot(page)
    page.mouse.move(spot["px"], spot["py"])
    _wait_canvas(page, CANVAS, "c.dataset.source === 'hover'")
    page.wait_for_timeout(300)  # a listener left behind would draw within a frame
    assert page.evaluate("() => window.__vxSources.filter(s => s === 'hover').length") == 1
    page.screenshot(path=str(artifacts_dir / "browser-decoder-slider.png"))
    # the download (made when pressed) is the server's decoding of the sliders' z
    with page.expect_download(timeout=TIMEOUT) as download:
        page.locator(".st-key-download_decoded button").click()
    assert download.value.suggested_filename == "decoded_z1_0.05_z2_0.00.png"
    png = np.asarray(Image.open(download.value.path()).convert("L"), dtype=np.float32) / 255
    assert png.shape == (28 * DECODED_SCALE, 28 * DECODED_SCALE)
    expected = decode_z(vae_checkpoint.model, (0.05, 0.0))[0, 0].numpy()
    assert np.abs(png[::DECODED_SCALE, ::DECODED_SCALE] - expected).max() <= 1 / 255


def test_a_mouse_move_over_empty_map_space_decodes_the_z_there(explorer, vae_checkpoint, artifacts_dir):
    page = explorer
    start = canvas_pixels(page)
    spot = empty_spot(page)
    assert spot is not None
    page.mouse.move(spot["px"], spot["py"])
    _wait_canvas(page, CANVAS, "c.dataset.source === 'hover'")
    drawn = canvas_pixels(page)
    # the cursor's z, to within a screen pixel (whole-pixel mouse positions)
    assert abs(drawn["z"][0] - spot["x"]) < 0.05 and abs(drawn["z"][1] - spot["y"]) < 0.05
    pixels = _assert_model_pixels(drawn, vae_checkpoint.model)
    assert not np.array_equal(pixels, np.asarray(start["pixels"]) / 255)
    expect(page.locator(".st-key-decoded_image")).to_contain_text("(under the cursor)")
    page.screenshot(path=str(artifacts_dir / "browser-decoder-hover.png"))
    # a second move decodes the new position
    page.mouse.move(spot["px"] + 30, spot["py"] - 20)
    _wait_canvas(page, CANVAS, "c.dataset.z !== arg", f"{drawn['z'][0]},{drawn['z'][1]}")
    moved = canvas_pixels(page)
    assert moved["z"][0] > drawn["z"][0] and moved["z"][1] > drawn["z"][1]
    _assert_model_pixels(moved, vae_checkpoint.model)
    # off the map, the sliders' z is shown again
    page.mouse.move(5, 5)
    _wait_canvas(page, CANVAS, "c.dataset.source === 'sliders'")
    assert canvas_pixels(page)["pixels"] == start["pixels"]


def test_the_compare_pages_models_decode_the_hovered_z_with_their_own_weights(page, app_url, vae_checkpoint,
                                                                              ae_checkpoint, artifacts_dir):
    canvases = {side: f".st-key-cmp_{side}_hover_decoded canvas.vx-canvas" for side in "ab"}
    open_by_menu(page, app_url, "Compare AE and VAE", TIMEOUT)
    right_map = ".st-key-cmp_b_map_panel .js-plotly-plot"
    page.locator(right_map).wait_for(timeout=TIMEOUT)
    page.add_script_tag(content=MAP_JS)
    use_map(page, right_map)
    page.wait_for_function("() => window.__scatterCount() === 10000", timeout=TIMEOUT)
    for selector in canvases.values():
        _wait_canvas(page, selector, "true")
    px, py = page.evaluate("() => window.__px(1.5, -2.0)")  # on the VAE's map
    page.mouse.move(px, py)
    drawn = {}
    for side, selector in canvases.items():
        _wait_canvas(page, selector, "c.dataset.source === 'hover'")
        drawn[side] = canvas_pixels(page, f".st-key-cmp_{side}_hover_decoded")
    assert drawn["a"]["z"] == drawn["b"]["z"] and abs(drawn["b"]["z"][0] - 1.5) < 0.05
    assert drawn["a"]["net"] != drawn["b"]["net"]
    ae = _assert_model_pixels(drawn["a"], ae_checkpoint.model)
    vae = _assert_model_pixels(drawn["b"], vae_checkpoint.model)
    assert np.abs(ae - vae).max() > 0.2  # two decoders, two different images of one z
    expect(page.locator(".st-key-cmp_a_hover_decoded")).to_contain_text("AE at z = (")
    page.screenshot(path=str(artifacts_dir / "browser-decoder-compare-hover.png"))


def test_the_conditional_pages_style_sliders_decode_in_the_page_with_the_label(page, app_url, artifacts_dir):
    from explorer.core.checkpoints import load_checkpoint
    from explorer.ui.state.registry import CHECKPOINT_DIR

    cvae = load_checkpoint(CHECKPOINT_DIR / "mnist_cvae_z2.safetensors").model
    canvas = ".st-key-cvae_decoded canvas.vx-canvas"
    open_by_menu(page, app_url, "Conditional VAE", TIMEOUT)
    _wait_canvas(page, canvas, "true")
    wait_for_app_run(page)
    start = canvas_pixels(page, ".st-key-cvae_decoded")
    assert start["z"] == [0, 0]
    _assert_model_pixels(start, cvae, y=0)
    # ArrowRight on z1; returns once the canvas shows the new z and the step's run is over
    # (the label change below must come after it)
    slider_step_ms(page, ".st-key-cvae_z1_slider", ".st-key-cvae_decoded")
    step = canvas_pixels(page, ".st-key-cvae_decoded")
    assert step["z"][0] > 0 and step["z"][1] == 0
    assert not np.array_equal(_assert_model_pixels(step, cvae, y=0), np.asarray(start["pixels"]) / 255)
    # a new label reruns the fragment; the page then decodes with it
    label = page.locator(".st-key-cvae_condition_label input[type=range]")
    label.focus()
    label.press("ArrowRight")
    expect(page.locator(".st-key-cvae_decoded")).to_contain_text("decoder mean with y = 1 at z = (", timeout=TIMEOUT)
    _assert_model_pixels(canvas_pixels(page, ".st-key-cvae_decoded"), cvae, y=1)
    page.screenshot(path=str(artifacts_dir / "browser-decoder-conditional.png"))


@pytest.fixture(scope="module")
def server_only_url(artifacts_dir):
    """A second server with the browser decoder off: every model decodes on the server."""
    with streamlit_server(artifacts_dir / "streamlit-server-no-browser-decoder.log",
                          env={"EXPLORER_BROWSER_DECODER": "0"}) as (url, _):
        yield url


def test_with_the_browser_path_off_the_server_draws_the_image(page, server_only_url, vae_checkpoint):
    open_explorer(page, server_only_url, TIMEOUT)
    expect(page.locator(".st-key-decoded_image img")).to_have_count(1)
    assert page.locator(CANVAS).count() == 0
    before = wait_decoded(page)  # the first image loads after the page's first run
    slider_step_ms(page)  # returns once the new image has loaded
    assert wait_decoded(page) != before
    expect(page.locator(".st-key-decoded_image")).to_contain_text("z = (0.05, 0.00): the decoder mean")
    src = page.locator(".st-key-decoded_image img").get_attribute("src")
    png = Image.open(io.BytesIO(page.request.get(server_only_url + src if src.startswith("/") else src).body()))
    pixels = np.asarray(png.convert("L"), dtype=np.float32)[::DECODED_SCALE, ::DECODED_SCALE] / 255
    assert np.abs(pixels - decode_z(vae_checkpoint.model, (0.05, 0.0))[0, 0].numpy()).max() <= 1 / 255
