"""The manifold grid redrawn in the page (explorer/ui/components/grid_gl.js, browser_grid.js),
in headless chromium: the page's grid coordinates are manifold.manifold_coordinates', its
WebGL2 decoding of the shipped MLP decoders equals PyTorch's within 1/255, and in the app a
new n or spacing is drawn at once from WebGL2, then the server's pixels of the same grid
follow (no other image in between); a conditional model's grid uses its label; a click on a
cell still moves the sliders; with WebGL2 missing the server's pixels draw the same grid, and
so they do where the page expects its own decoding to take longer than its budget. Skips
without chromium; the WebGL2 checks skip where the browser has no WebGL2."""

import base64
import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from explorer.core.checkpoints import load_checkpoint
from explorer.core.export import export_decoder
from explorer.core.manifold import GRID_MAX, GRID_MIN, PAPER_MARGIN, manifold_coordinates, manifold_z
from explorer.ui.components import browser_grid
from explorer.ui.state.registry import CHECKPOINT_DIR
from tests.helpers.browser import GRID_CANVAS, open_explorer, set_grid_n_by_track_click, wait_for_app_run

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
TIMEOUT = 60_000
GRID_GL_JS = (Path(browser_grid.__file__).parent / "grid_gl.js").read_text()
HAS_WEBGL2 = "() => !!document.createElement('canvas').getContext('webgl2')"
NO_WEBGL2 = """(() => { const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
    return type === 'webgl2' ? null : getContext.call(this, type, ...rest); }; })();"""
# Every drawing of the grid canvas from now on (listening once per canvas), read back at once: source, grid, n, axis coordinates, red channel.
RECORD_DRAWS_JS = """(sel) => { window.__draws = []; const c = document.querySelector(sel);
  if (c.__recording) return;
  c.__recording = true;
  c.addEventListener('vx-grid-drawn', (e) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, px = new Uint8Array(d.length / 4);
    for (let i = 0; i < px.length; i++) px[i] = d[4 * i];
    const g = c.__vxGrid.desc;
    window.__draws.push({source: e.detail.source, grid: e.detail.grid, n: g.n, spacing: g.spacing, low: g.low,
                         high: g.high, coords: g.coords, width: c.width, pixels: px}); }); }"""
DRAWS_JS = """() => window.__draws.map(d => ({source: d.source, grid: d.grid, n: d.n, spacing: d.spacing,
  low: d.low, high: d.high, coords: d.coords}))"""
# The 28 x 28 pixels of cells [row, col] of drawing k (padding 2: cells start at 2 + 30 * index).
CELLS_JS = """([k, cells]) => { const d = window.__draws[k];
  return cells.map(([r, c]) => { const out = [];
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) out.push(d.pixels[(2 + 30 * r + y) * d.width + 2 + 30 * c + x]);
    return out; }); }"""
MAX_DIFF_JS = """([a, b]) => { const p = window.__draws[a].pixels, q = window.__draws[b].pixels;
  if (p.length !== q.length) return 255; let m = 0;
  for (let i = 0; i < p.length; i++) m = Math.max(m, Math.abs(p[i] - q[i])); return m; }"""


def _cells(n: int) -> list[tuple[int, int]]:
    return [(0, 0), (0, n - 1), (n // 2, n // 3), (n - 1, n - 1)]


def _assert_cells_are_torchs(page, k: int, model, coords, y=None) -> None:
    """Cells of drawing ``k`` equal PyTorch's decoder mean of their z (8-bit, within 1/255)."""
    n = len(coords)
    cells = _cells(n)
    z = manifold_z(np.asarray(coords))[[r * n + c for r, c in cells]]
    expected = browser_grid.grid_pixels(model, z, y).astype(int)
    drawn = np.asarray(page.evaluate(CELLS_JS, [k, cells]), dtype=int)
    assert np.abs(drawn - expected).max() <= 1


def _needs_webgl2(page) -> None:
    if not page.evaluate(HAS_WEBGL2):
        pytest.skip("this chromium has no WebGL2: the grid is drawn from the server's pixels only")


def _decode_in_bare_page(page, model, z: np.ndarray, y: int) -> np.ndarray:
    """decodeGridGL of grid_gl.js, alone in a blank page, on ``model``'s exported decoder."""
    exported = export_decoder(model)
    layers = [{"nIn": int(l["weight"].shape[1]), "nOut": int(l["weight"].shape[0]), "relu": l["activation"] == "relu",
               "w": base64.b64encode(np.ascontiguousarray(l["weight"], "<f4").tobytes()).decode(),
               "b": base64.b64encode(np.ascontiguousarray(l["bias"], "<f4").tobytes()).decode()}
              for l in exported["layers"]]
    pixels = page.evaluate("""([layers, latent, cond, z, y]) => {
      const floats = (s) => { const b = Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0)); return new Float32Array(b.buffer); };
      const net = {id: 'test' + cond, latent, cond, layers: layers.map(l => ({...l, w: floats(l.w), b: floats(l.b)}))};
      const px = globalThis.__vxGridGL.decodeGridGL(net, new Float32Array(z), y);
      return px && Array.from(px); }""", [layers, exported["latent_dim"], exported["condition_size"],
                                         z.reshape(-1).tolist(), y])
    assert pixels is not None
    return np.asarray(pixels, dtype=int).reshape(len(z), -1)


@pytest.fixture
def bare(page):
    page.set_content("<html><body></body></html>")
    page.add_script_tag(content=GRID_GL_JS)
    return page


def test_the_pages_grid_coordinates_are_manifold_coordinates(bare):
    got = bare.evaluate("""([lo, hi, margin]) => { const out = {};
      for (let n = %d; n <= %d; n++) out[n] = [gridCoordinates(n, 'paper', lo, hi, margin), gridCoordinates(n, 'linear', lo, hi, margin)];
      return out; }""" % (GRID_MIN, GRID_MAX), [-2.95, 3.4, PAPER_MARGIN])
    assert sorted(int(n) for n in got) == list(range(GRID_MIN, GRID_MAX + 1))
    for n, (paper, linear) in got.items():
        np.testing.assert_allclose(paper, manifold_coordinates(int(n), "paper"), rtol=0, atol=1e-12)
        np.testing.assert_allclose(linear, manifold_coordinates(int(n), "linear", -2.95, 3.4), rtol=0, atol=1e-12)


@pytest.mark.parametrize("checkpoint, y", [("mnist_vae_z2.safetensors", 0), ("mnist_cvae_z2.safetensors", 7),
                                           ("mnist_ae_z2.safetensors", 0)])
def test_webgl_decodes_the_grid_as_pytorch_does(bare, checkpoint, y):
    _needs_webgl2(bare)
    model = load_checkpoint(CHECKPOINT_DIR / checkpoint).model
    z = manifold_z(manifold_coordinates(30, "paper") * 1.5)
    label = y if model.is_conditional else None
    expected = browser_grid.grid_pixels(model, z, label).astype(int)
    assert np.abs(_decode_in_bare_page(bare, model, z, y) - expected).max() <= 1
    if model.is_conditional:  # the label matters: another label gives other pixels
        assert np.abs(browser_grid.grid_pixels(model, z, 1).astype(int) - expected).max() > 100


class HeldAnswers:
    """The server's websocket messages to the page, passed through (Playwright's
    route_web_socket) or, between :meth:`hold` and :meth:`release`, held back: so a test sees
    what the page draws before the server's answer, however fast the server is."""

    def __init__(self, page) -> None:
        self.held: list | None = None
        page.route_web_socket(re.compile(r".*/_stcore/stream$"), self._route)

    def _route(self, ws) -> None:
        server = ws.connect_to_server()
        ws.on_message(lambda message: server.send(message))
        server.on_message(lambda message: ws.send(message) if self.held is None else self.held.append((ws, message)))

    def hold(self) -> None:
        self.held = []

    def release(self) -> None:
        held, self.held = self.held or [], None
        for ws, message in held:
            ws.send(message)


@pytest.fixture
def explorer(page, app_url):
    """The Explorer page, recording the grid's drawings, with the server's answers held on
    demand; the page decodes in WebGL2 however long it expects that to take (headless
    chromium's software renderer is slower than the page's budget on a 2-core machine)."""
    answers = HeldAnswers(page)
    open_explorer(page, app_url, TIMEOUT)
    page.evaluate("() => { globalThis.__vxGridGL.budgetMs = Infinity; }")
    page.evaluate(RECORD_DRAWS_JS, GRID_CANVAS)
    return page, answers


def _drawn_in_page_then_by_the_server(page, answers, change) -> list[dict]:
    """Hold the server's answers, ``change()`` a control, wait for the page's own drawing,
    release the answers, wait for the server's drawing and the idle app: all drawings since."""
    answers.hold()
    change()
    page.wait_for_function("() => window.__draws.length > 0", timeout=TIMEOUT)
    answers.release()
    page.wait_for_function("() => window.__draws.some(d => d.source === 'server')", timeout=TIMEOUT)
    wait_for_app_run(page)
    return page.evaluate(DRAWS_JS)


def _click_grid_n_track(page, n: int) -> None:
    track = page.locator(".st-key-grid_n [data-testid=stSliderTickBar]").bounding_box()
    thumb = page.locator(".st-key-grid_n input[type=range]").bounding_box()
    page.mouse.click(track["x"] + (n - GRID_MIN) / (GRID_MAX - GRID_MIN) * track["width"],
                     thumb["y"] + thumb["height"] / 2)


def _assert_drawn_first_in_page_then_the_same_by_the_server(page, draws: list[dict]) -> None:
    assert [d["source"] for d in draws] == ["webgl", "server"], [(d["source"], d["grid"]) for d in draws]
    assert draws[0]["grid"] == draws[1]["grid"]  # no other grid in between
    assert page.evaluate(MAX_DIFF_JS, [0, 1]) <= 1  # the server's pixels equal the page's


def test_a_new_n_is_drawn_in_the_page_then_by_the_server_and_a_click_moves_the_sliders(explorer, vae_checkpoint):
    page, answers = explorer
    _needs_webgl2(page)
    draws = _drawn_in_page_then_by_the_server(page, answers, lambda: _click_grid_n_track(page, 30))
    n = draws[0]["n"]
    assert n != 20 and n == int(page.locator(".st-key-grid_n input[type=range]").input_value())
    np.testing.assert_allclose(draws[0]["coords"], manifold_coordinates(n, "paper"), rtol=0, atol=1e-6)
    _assert_cells_are_torchs(page, 0, vae_checkpoint.model, draws[0]["coords"])
    _assert_drawn_first_in_page_then_the_same_by_the_server(page, draws)
    # a click on a cell of the new grid moves the sliders to its z
    box = page.locator(GRID_CANVAS).bounding_box()
    scale = box["width"] / (n * 30 + 2)
    page.mouse.click(box["x"] + (2 + (n - 2) * 30 + 14) * scale, box["y"] + (2 + 1 * 30 + 14) * scale)
    z = manifold_z(manifold_coordinates(n, "paper"))[1 * n + n - 2]  # row 1, column n - 2
    for name, v in zip(("z1", "z2"), z):
        expect(page.locator(f".st-key-{name}_slider input[type=range]")).to_have_attribute(
            "aria-valuetext", f"{round(v / 0.05) * 0.05 + 0.0:.2f}")


def test_a_new_spacing_is_drawn_in_the_page_then_by_the_server(explorer, vae_checkpoint):
    page, answers = explorer
    _needs_webgl2(page)
    draws = _drawn_in_page_then_by_the_server(
        page, answers, lambda: page.locator(".st-key-grid_spacing").get_by_text("linear").click())
    first = draws[0]
    assert (first["n"], first["spacing"], first["low"], first["high"]) == (20, "linear", -3.0, 3.0)
    np.testing.assert_allclose(first["coords"], manifold_coordinates(20, "linear", -3.0, 3.0), rtol=0, atol=1e-12)
    _assert_cells_are_torchs(page, 0, vae_checkpoint.model, first["coords"])
    _assert_drawn_first_in_page_then_the_same_by_the_server(page, draws)


def test_a_conditional_models_grid_is_drawn_with_its_label(explorer):
    page, answers = explorer
    _needs_webgl2(page)
    checkpoint = "mnist_cvae_z2.safetensors"
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').click()
    page.get_by_role("option", name="Conditional VAE · z = 2 · shipped", exact=True).click()  # its short name
    expect(page.locator(GRID_CANVAS)).to_have_attribute("data-model", checkpoint, timeout=4 * TIMEOUT)
    wait_for_app_run(page)
    page.locator(".st-key-condition_label").click()
    page.get_by_role("option", name="7", exact=True).click()
    expect(page.get_by_role("combobox", name="Digit label y")).to_have_value("7")
    # the label reruns the page: the grid's fragment decodes with it
    page.wait_for_function("(sel) => document.querySelector(sel).__vxGrid.desc.y === 7", arg=GRID_CANVAS,
                           timeout=TIMEOUT)
    wait_for_app_run(page)
    page.evaluate(RECORD_DRAWS_JS, GRID_CANVAS)
    draws = _drawn_in_page_then_by_the_server(page, answers, lambda: _click_grid_n_track(page, 30))
    model = load_checkpoint(CHECKPOINT_DIR / checkpoint).model
    _assert_cells_are_torchs(page, 0, model, draws[0]["coords"], y=7)
    _assert_drawn_first_in_page_then_the_same_by_the_server(page, draws)


def test_without_webgl2_the_server_draws_the_same_grid(page, app_url, vae_checkpoint):
    page.add_init_script(NO_WEBGL2)
    open_explorer(page, app_url, TIMEOUT)
    assert not page.evaluate(HAS_WEBGL2)
    page.evaluate(RECORD_DRAWS_JS, GRID_CANVAS)
    set_grid_n_by_track_click(page, 30)  # returns once the canvas shows another grid
    wait_for_app_run(page)
    draws = page.evaluate(DRAWS_JS)
    assert [d["source"] for d in draws] == ["server"]
    n = draws[0]["n"]
    assert n != 20 and n == int(page.locator(".st-key-grid_n input[type=range]").input_value())
    expect(page.locator(GRID_CANVAS)).to_have_attribute("data-source", "server")
    _assert_cells_are_torchs(page, 0, vae_checkpoint.model, draws[0]["coords"])


def test_a_page_too_slow_for_its_budget_leaves_the_grid_to_the_server(page, app_url):
    open_explorer(page, app_url, TIMEOUT)
    _needs_webgl2(page)
    # the page times its decoding once it is idle (ms per code), then keeps within its budget
    page.wait_for_function("() => globalThis.__vxGridGL.msPerCode.size > 0", timeout=TIMEOUT)
    assert page.evaluate("() => [...globalThis.__vxGridGL.msPerCode.values()][0]") > 0
    page.evaluate("() => { globalThis.__vxGridGL.budgetMs = 0; }")
    page.evaluate(RECORD_DRAWS_JS, GRID_CANVAS)
    set_grid_n_by_track_click(page, 30)  # returns once the canvas shows another grid
    wait_for_app_run(page)
    assert [d["source"] for d in page.evaluate(DRAWS_JS)] == ["server"]
    expect(page.locator(GRID_CANVAS)).to_have_attribute("data-source", "server")
