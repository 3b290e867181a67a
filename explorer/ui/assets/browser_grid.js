// The manifold grid on a canvas (explorer/ui/browser_grid.py). data is a packed grid
// ("VXG1": JSON description, then n * n cells of 8-bit pixels, row-major, top row first).
// The cells are tiled onto one canvas (white padding between them, like torchvision's
// make_grid), shown enlarged with nearest-neighbour scaling. Hovering a cell shows its z;
// a click sets the trigger "cell" ({row, col, z}); the grid's overlay trace on the latent
// map follows the new cells through Plotly's restyle, without a rerun of the page.

function parseGrid(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== "VXG1") throw new Error("not a packed grid");
  const n = dv.getUint32(4, true);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  return { desc: JSON.parse(text), text, pixels: bytes.subarray(8 + n) };
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

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!(data instanceof Uint8Array)) return;
  const grid = parseGrid(data);
  let root = parentElement.querySelector(":scope > .vx-grid-view");
  if (!root) {
    root = document.createElement("div");
    root.className = "vx-grid-view";
    root.innerHTML = '<canvas class="vx-grid"></canvas><div class="vx-grid-hover"></div>';
    parentElement.appendChild(root);
  }
  const canvas = root.querySelector("canvas"), hover = root.querySelector(".vx-grid-hover");
  const { size, fit_below: fit } = grid.desc;
  canvas.style.maxWidth = fit ? `min(${size}px, calc(100vh - ${fit}px))` : `${size}px`;
  draw(canvas, grid);
  const { n, spacing, low, high } = grid.desc;
  canvas.__vxGrid = grid;
  canvas.dataset.grid = `${n}|${spacing}|${low}|${high}`;
  canvas.dataset.n = String(n);
  canvas.dataset.model = grid.desc.model || "";
  canvas.dataset.draws = String(Number(canvas.dataset.draws || 0) + 1);
  const idle = "";  // the caption below says what hovering and clicking do
  hover.textContent = idle;
  // Assigned handlers (not addEventListener): a new mount replaces the old ones.
  canvas.onmousemove = (e) => {
    const cell = cellAt(canvas, grid, e);
    hover.textContent = cell ? `row ${cell.row}, column ${cell.col}: z = (${fmt(cell.z[0])}, ${fmt(cell.z[1])})` : idle;
  };
  canvas.onmouseleave = () => { hover.textContent = idle; };
  canvas.onclick = (e) => {
    const cell = cellAt(canvas, grid, e);
    if (cell) setTriggerValue("cell", cell);
  };
  // after the frame that shows the grid: a WebGL map redraw is slow in software rendering
  requestAnimationFrame(() => setTimeout(() => moveOverlay(grid.desc), 0));
}
