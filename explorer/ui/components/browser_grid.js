// The manifold grid on a canvas (explorer/ui/components/browser_grid.py). data is a packed grid
// (safetensors bytes, parsed by safetensors.js in front of this file: the uint8 tensor
// "pixels", n * n cells, row-major, top row first, and the JSON "description" in the metadata).
// The cells are tiled onto one canvas (white padding between them, like torchvision's
// make_grid), shown enlarged with nearest-neighbour scaling. Hovering a cell shows its z;
// a click sets the trigger "cell" ({row, col, z}); the grid's overlay trace on the latent
// map follows the new cells through Plotly's restyle, without a rerun of the page.
//
// In-page redraw: every animation frame the grid's controls (n slider, spacing radio, linear
// range slider; their widget keys are in desc.controls) are read from the DOM; when they ask
// for another grid and the page holds the model's decoder (desc.net, registered by
// browser_decoder.js), the grid is decoded in WebGL2 (grid_gl.js, in front of this file) and
// drawn when done, where the page expects that to take at most 100 ms (startInPage). The
// server's fragment rerun then brings its pixels (equal within 1/255);
// they are drawn when they are the grid the controls ask for, so an older answer never
// replaces a newer drawing. Without WebGL2 or the decoder, the server's pixels are drawn as before.
// Each drawing sets data-source ("server" or "webgl") and dispatches "vx-grid-drawn" on the canvas.

function parseGrid(bytes) {
  const { metadata, tensors } = parseSafetensors(bytes);
  if (!tensors.pixels || tensors.pixels.dtype !== "U8" || !metadata.description) throw new Error("not a packed grid");
  return { desc: JSON.parse(metadata.description), pixels: tensors.pixels.data };
}

function fmt(v) { return (Math.abs(v) < 0.005 ? 0 : v).toFixed(2); }

// Tile the cells onto the canvas: one ImageData, one putImageData.
function draw(canvas, grid) {
  const { n, shape, padding } = grid.desc, [c, h, w] = shape, cell = c * h * w;
  const side = n * (w + padding) + padding, sideY = n * (h + padding) + padding;
  if (canvas.width !== side || canvas.height !== sideY) { canvas.width = side; canvas.height = sideY; }
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(side, sideY), out = img.data;
  out.fill(255);
  const px = grid.pixels;
  for (let r = 0; r < n; r++) {
    for (let col = 0; col < n; col++) {
      const base = (r * n + col) * cell, top = padding + r * (h + padding), left = padding + col * (w + padding);
      for (let y = 0; y < h; y++) {
        let q = 4 * ((top + y) * side + left);
        for (let x = 0; x < w; x++, q += 4) {
          const p = base + y * w + x;
          if (c === 1) { out[q] = out[q + 1] = out[q + 2] = px[p]; }
          else { out[q] = px[p]; out[q + 1] = px[p + h * w]; out[q + 2] = px[p + 2 * h * w]; }
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0);
}

// The cell under a mouse event, or null over the padding's outer border.
function cellAt(canvas, grid, e) {
  const { n, shape, padding } = grid.desc, w = shape[2], h = shape[1];
  const r = canvas.getBoundingClientRect();
  const x = (e.clientX - r.left) * canvas.width / r.width, y = (e.clientY - r.top) * canvas.height / r.height;
  const col = Math.floor((x - padding / 2) / (w + padding)), row = Math.floor((y - padding / 2) / (h + padding));
  if (row < 0 || col < 0 || row >= n || col >= n) return null;
  const coords = grid.desc.coords;
  return { row, col, z: [coords[col], coords[n - 1 - row]] };
}

// The cells' z on the map: trace desc.overlay.trace of the map desc.overlay.map, if shown.
function moveOverlay(desc) {
  if (!desc.overlay || !globalThis.Plotly) return;
  const gd = document.querySelector(desc.overlay.map);
  const i = gd && gd._fullData ? gd._fullData.findIndex((t) => t.name === desc.overlay.trace) : -1;
  if (i < 0) return;
  const { n, coords } = desc, x = new Array(n * n), y = new Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) { x[r * n + c] = coords[c]; y[r * n + c] = coords[n - 1 - r]; }
  const t = gd.data[gd._fullData[i].index];
  if (t.x && t.x.length === x.length && t.x[0] === x[0] && t.y[0] === y[0] && t.x[n - 1] === x[n - 1]) return;
  globalThis.Plotly.restyle(gd, { x: [x], y: [y] }, [gd._fullData[i].index]);
}

// The grid the controls in the page ask for: the description with their n, spacing, low and
// high (its own value for any control not (yet) in the page).
function controlsGrid(desc) {
  const ctl = desc.controls, out = { ...desc };
  if (!ctl) return out;
  const n = document.querySelector(`.st-key-${ctl.n} input[type=range]`);
  if (n && n.value !== "") out.n = Math.round(Number(n.value));
  const checked = document.querySelector(`.st-key-${ctl.spacing} input[type=radio]:checked`);
  if (checked && desc.spacings[Number(checked.value)]) out.spacing = desc.spacings[Number(checked.value)];
  const range = document.querySelectorAll(`.st-key-${ctl.range} input[type=range]`);
  if (range.length === 2 && range[0].value !== "" && range[1].value !== "") {
    out.low = Number(range[0].value);
    out.high = Number(range[1].value);
  }
  return out;
}

// Whether two grid descriptions show the same cells: model, label and n, spacing and (for
// "linear" spacing) range.
function sameCells(a, b) {
  if (a.n !== b.n || a.spacing !== b.spacing || a.model !== b.model || a.net !== b.net || a.y !== b.y) return false;
  return a.spacing !== "linear" || (Math.abs(a.low - b.low) < 1e-9 && Math.abs(a.high - b.high) < 1e-9);
}

// Start decoding grid g (the server's description desc with the controls' n, spacing, range) in
// the page: {desc, job} (grid_gl.js startGridGL), or null where the page cannot decode it.
// Only where the page's decoding is expected to take at most GRID_GL.budgetMs (default 100 ms,
// the time a new grid should take to show): on a slow software renderer it would only take the
// CPU from the server's answer. The expected time is the last measured ms per code (warmUp, and
// every finished decoding) times the grid's codes; unknown, the page waits for the server.
function startInPage(desc, g) {
  const reg = globalThis.__vxDecoders, net = desc.net && reg && reg.nets.get(desc.net);
  if (!net || net.latent !== 2 || g.n < desc.n_min || g.n > desc.n_max || !(g.low < g.high)) return null;
  const budget = GRID_GL.budgetMs ?? 100, rate = GRID_GL.msPerCode.get(desc.net);
  if (!(budget === Infinity || (rate !== undefined && rate * g.n * g.n <= budget))) return null;
  try {
    const coords = gridCoordinates(g.n, g.spacing, g.low, g.high, desc.margin);
    const job = startGridGL(net, gridCodes(coords), desc.y || 0);
    return job && { desc: { ...g, coords }, job, net: desc.net, count: g.n * g.n, t0: performance.now() };
  } catch (e) {
    console.warn("manifold grid: decoding in the page failed, the server's pixels are drawn", e);
    return null;
  }
}

// Once per decoder and page, when the page is idle: upload its weights and run the shaders on
// one code (software rendering compiles a shader on its first draw), then time the decoding of
// the grid shown (GRID_GL.msPerCode: ms per code, for startInPage's choice).
function warmUp(desc) {
  // the registry of browser_decoder.js (the same shape if this module runs first)
  const reg = (globalThis.__vxDecoders = globalThis.__vxDecoders || { nets: new Map(), waiters: new Map() });
  const warm = (GRID_GL.warm = GRID_GL.warm || new Set());
  if (!desc.net || warm.has(desc.net)) return;
  if (!reg.nets.has(desc.net)) {
    // The weights' element comes after the grid's on the page (and 2 MB take a while on a
    // busy machine): warm up once they are parsed, not never.
    if (!reg.waiters.has(desc.net)) reg.waiters.set(desc.net, []);
    reg.waiters.get(desc.net).push(() => warmUp(desc));
    return;
  }
  const idle = globalThis.requestIdleCallback || ((f) => setTimeout(f, 200));
  const whenReady = (job, then) => (job.ready() ? then() : setTimeout(() => whenReady(job, then), 0));
  idle(() => {
    const net = reg && reg.nets.get(desc.net);
    if (!net || warm.has(desc.net)) return;
    warm.add(desc.net);
    const first = startGridGL(net, new Float32Array(net.latent), 0);
    if (!first) return;
    whenReady(first, () => {
      first.discard();
      const codes = gridCodes(desc.coords), t0 = performance.now(), job = startGridGL(net, codes, desc.y || 0);
      if (job) whenReady(job, () => { GRID_GL.msPerCode.set(desc.net, (performance.now() - t0) / (codes.length / 2)); job.discard(); });
    });
  }, { timeout: 2000 });
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!(data instanceof Uint8Array)) return;
  const served = parseGrid(data);
  let root = parentElement.querySelector(":scope > .vx-grid-view");
  if (!root) {
    root = document.createElement("div");
    root.className = "vx-grid-view";
    root.innerHTML = '<canvas class="vx-grid"></canvas><div class="vx-grid-hover"></div>';
    parentElement.appendChild(root);
  }
  // Streamlit calls this function again whenever the element's data changes: end the previous mount's polling.
  if (root.__vxCleanup) root.__vxCleanup();
  const canvas = root.querySelector("canvas"), hover = root.querySelector(".vx-grid-hover");
  const { size, fit_below: fit } = served.desc;
  canvas.style.maxWidth = fit ? `min(${size}px, calc(100vh - ${fit}px))` : `${size}px`;
  canvas.dataset.model = served.desc.model || "";
  const show = (grid, source) => {
    draw(canvas, grid);
    const { n, spacing, low, high } = grid.desc;
    canvas.__vxGrid = grid;
    canvas.dataset.grid = `${n}|${spacing}|${low}|${high}`;
    canvas.dataset.n = String(n);
    canvas.dataset.source = source;
    canvas.dataset.draws = String(Number(canvas.dataset.draws || 0) + 1);
    canvas.dispatchEvent(new CustomEvent("vx-grid-drawn", { detail: { source, grid: canvas.dataset.grid } }));
    // after the frame that shows the grid: a WebGL map redraw is slow in software rendering
    requestAnimationFrame(() => setTimeout(() => moveOverlay(grid.desc), 0));
  };
  // The decoding under way in the page (kept across mounts: a rerun must not lose it).
  let alive = true, frame = 0, failed = "";
  const wantsAnother = (wanted) => !canvas.__vxGrid || !sameCells(wanted, canvas.__vxGrid.desc);
  // Every frame: draw a finished decoding if the controls still ask for it and nothing drew it
  // yet; start one when the controls ask for a grid not shown and not under way.
  const poll = () => {
    if (!alive) return;
    const wanted = controlsGrid(served.desc), pending = root.__vxPending;
    if (pending && pending.job.ready()) {
      root.__vxPending = null;
      GRID_GL.msPerCode.set(pending.net, (performance.now() - pending.t0) / pending.count);
      const pixels = sameCells(pending.desc, wanted) && wantsAnother(wanted) ? pending.job.pixels() : null;
      if (pixels) show({ desc: pending.desc, pixels }, "webgl");
      else pending.job.discard();
    }
    const key = `${wanted.n}|${wanted.spacing}|${wanted.low}|${wanted.high}|${wanted.model}|${wanted.y}`;
    if (wantsAnother(wanted) && !(root.__vxPending && sameCells(root.__vxPending.desc, wanted)) && key !== failed) {
      const started = startInPage(served.desc, wanted);
      if (root.__vxPending) root.__vxPending.job.discard();  // the controls moved on
      root.__vxPending = started;
      if (!started) failed = key;  // not again for these controls: the server's answer will come
    }
    frame = requestAnimationFrame(poll);
  };
  // The server's grid is drawn when it is the one the controls ask for (also when the page drew
  // it first: these are the download's pixels); an older answer is not, where the page can decode
  // the newer one itself.
  const wanted = controlsGrid(served.desc), reg = globalThis.__vxDecoders;
  const canDecode = !!(served.desc.net && reg && reg.nets.has(served.desc.net) && GRID_GL.available());
  if (sameCells(wanted, served.desc) || !canvas.__vxGrid || !canDecode) show(served, "server");
  poll();
  warmUp(served.desc);
  const idle = "";  // the caption below says what hovering and clicking do
  hover.textContent = idle;
  // Assigned handlers (not addEventListener): a new mount replaces the old ones.
  canvas.onmousemove = (e) => {
    const cell = cellAt(canvas, canvas.__vxGrid, e);
    hover.textContent = cell ? `row ${cell.row}, column ${cell.col}: z = (${fmt(cell.z[0])}, ${fmt(cell.z[1])})` : idle;
  };
  canvas.onmouseleave = () => { hover.textContent = idle; };
  canvas.onclick = (e) => {
    const cell = cellAt(canvas, canvas.__vxGrid, e);
    if (cell) setTriggerValue("cell", cell);
  };
  const cleanup = () => {
    alive = false;
    cancelAnimationFrame(frame);
    if (root.__vxCleanup === cleanup) root.__vxCleanup = null;
  };
  root.__vxCleanup = cleanup;
  return cleanup;
}
