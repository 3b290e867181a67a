// The decoder in the browser (explorer/ui/components/browser_decoder.py). One module, two kinds of mount:
// - data is bytes: a packed decoder (explorer/core/export.py pack_decoder: safetensors bytes,
//   parsed by safetensors.js in front of this file); parsed once and kept in a page-wide
//   registry under its id. The element is drawn outside the fragments (a slider step or a
//   click does not send it again) and a page run sends it as a cached message reference,
//   so the weights cross the network once.
// - data is an object: a decoded view. It draws the decoder mean of the z on the page's z
//   sliders (read from their DOM inputs on every animation frame), or of the z under the mouse
//   on any of the latent maps named in data.maps (Plotly's axis mapping, _fullLayout.*axis.p2l),
//   on a 28x28 canvas shown enlarged with nearest-neighbour scaling.
const REG = (globalThis.__vxDecoders = globalThis.__vxDecoders || { nets: new Map(), waiters: new Map() });

function parseNet(bytes) {
  const { metadata, tensors } = parseSafetensors(bytes);
  if (!metadata.description) throw new Error("not a packed decoder");
  const header = JSON.parse(metadata.description);
  const layers = header.activations.map((activation, i) => {
    const w = tensors[`layers.${i}.weight`], b = tensors[`layers.${i}.bias`];  // (out, in) and (out,) float32
    return { nIn: w.shape[1], nOut: w.shape[0], relu: activation === "relu", w: w.data, b: b.data,
             out: new Float64Array(w.shape[0]) };
  });
  return { id: header.id, latent: header.latent_dim, cond: header.condition_size, shape: header.image_shape,
           layers, input: new Float64Array(header.latent_dim + header.condition_size), bytes: bytes.byteLength };
}

function register(bytes) {
  const net = parseNet(bytes);
  if (!REG.nets.has(net.id)) REG.nets.set(net.id, net);
  (REG.waiters.get(net.id) || []).forEach((f) => f(REG.nets.get(net.id)));
  REG.waiters.delete(net.id);
}

function whenNet(id, f) {
  if (REG.nets.has(id)) { f(REG.nets.get(id)); return; }
  if (!REG.waiters.has(id)) REG.waiters.set(id, []);
  REG.waiters.get(id).push(f);
}

// The decoder mean for z (and label y): Linear layers with ReLU between them, then sigmoid.
// Float32 weights, float64 sums. Returns a new Float32Array of C*H*W pixels in [0, 1].
function decodeMean(net, z, y) {
  let h = net.input;
  h.fill(0);
  for (let i = 0; i < net.latent; i++) h[i] = z[i];
  if (net.cond) h[net.latent + y] = 1;
  for (const l of net.layers) {
    const { nIn, nOut, w, b, out } = l;
    for (let o = 0; o < nOut; o++) out[o] = b[o];
    for (let i = 0; i < nIn; i++) { // column order skips the zeros ReLU left
      const v = h[i];
      if (v === 0) continue;
      for (let o = 0, k = i; o < nOut; o++, k += nIn) out[o] += w[k] * v;
    }
    if (l.relu) for (let o = 0; o < nOut; o++) if (out[o] < 0) out[o] = 0;
    h = out;
  }
  const x = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) x[i] = 1 / (1 + Math.exp(-h[i]));
  return x;
}

REG.decodeMean = decodeMean;  // for the benchmark (bench/browser.py)

function fmt(v) { return (Math.abs(v) < 0.005 ? 0 : v).toFixed(2); }

function mountView(component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector(":scope > .vx-view");
  if (!root) {
    root = document.createElement("div");
    root.className = "vx-view";
    root.innerHTML = '<canvas class="vx-canvas" width="28" height="28"></canvas><div class="vx-caption"></div>';
    parentElement.appendChild(root);
  }
  // Streamlit calls this function again whenever the element's data changes, but runs the
  // returned cleanup only when the element goes away: end the previous mount's listeners here.
  if (root.__vxCleanup) root.__vxCleanup();
  // the z of the server's latest run (the sliders' z then): tests wait for it to know that
  // a step's run has reached the page, which draws the new z before that run starts
  root.dataset.serverZ = data.z.join(",");
  const canvas = root.querySelector("canvas"), caption = root.querySelector(".vx-caption");
  const ctx = canvas.getContext("2d");
  canvas.style.width = `${data.size}px`;  // max-width 100% and aspect-ratio 1 in the CSS
  canvas.dataset.net = data.net;
  const sliders = () => data.sliders.map((k) => document.querySelector(`.st-key-${k} input[type=range]`));
  let net = null, last = "", hovering = false, frame = 0, alive = true;

  let shown = "";
  const draw = (z, hover) => {
    const key = `${z[0]},${z[1]},${hover}`;
    if (!net || key === shown) return;  // one drawing per new z (several listeners may see one move)
    shown = key;
    const x = decodeMean(net, z, data.y);
    const [c, hgt, wid] = net.shape, img = ctx.createImageData(wid, hgt);
    for (let p = 0; p < hgt * wid; p++) {
      const v = Math.min(255, Math.max(0, Math.floor(x[p] * 255 + 0.5)));
      const q = 4 * p;
      img.data[q] = img.data[q + 1] = img.data[q + 2] = v;
      img.data[q + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    canvas.__vxMean = x;
    canvas.dataset.z = `${z[0]},${z[1]}`;
    canvas.dataset.source = hover ? "hover" : "sliders";
    canvas.dataset.draws = String(Number(canvas.dataset.draws || 0) + 1);
    const zText = `z = (${fmt(z[0])}, ${fmt(z[1])})`;
    caption.textContent = data.label ? `${data.label} at ${zText}`
      : `${zText}: the decoder mean` + (hover ? " (under the cursor)" : "");
  };
  const sliderZ = () => {
    const inputs = sliders();
    return data.z.map((v, j) => (inputs[j] && inputs[j].value !== "" ? Number(inputs[j].value) : v));
  };
  const poll = () => {
    if (!alive) return;
    const z = sliderZ(), key = z.join(",");
    if (key !== last && !hovering) { last = key; draw(z, false); }
    frame = requestAnimationFrame(poll);
  };
  const mapUnder = (e) => {
    for (const sel of data.maps) {
      const gd = document.querySelector(sel);
      if (!gd || !gd._fullLayout || !gd.contains(e.target)) continue;
      const r = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
      const px = e.clientX - r.left - xa._offset, py = e.clientY - r.top - ya._offset;
      if (px < 0 || py < 0 || px > xa._length || py > ya._length) return null;
      return [xa.p2l(px), ya.p2l(py)];
    }
    return null;
  };
  const onMove = (e) => {
    const z = net && mapUnder(e);
    if (z) { hovering = true; draw(z, true); }
    else if (hovering) { hovering = false; last = ""; }
  };
  const onLeave = () => { if (hovering) { hovering = false; last = ""; } };
  document.addEventListener("mousemove", onMove, { capture: true, passive: true });
  document.documentElement.addEventListener("mouseleave", onLeave);
  whenNet(data.net, (n) => { if (!alive) return; net = n; last = ""; if (!frame) poll(); });
  const cleanup = () => {
    if (!alive) return;
    alive = false;
    cancelAnimationFrame(frame);
    document.removeEventListener("mousemove", onMove, { capture: true });
    document.documentElement.removeEventListener("mouseleave", onLeave);
    if (root.__vxCleanup === cleanup) root.__vxCleanup = null;
  };
  root.__vxCleanup = cleanup;
  return cleanup;
}

export default function (component) {
  const { data } = component;
  if (data instanceof Uint8Array) {
    // nothing to show: take the element out of the layout (no gap in the column)
    const box = component.parentElement.closest && component.parentElement.closest('[data-testid="stElementContainer"]');
    if (box) box.style.display = "none";
    register(data);
    return;
  }
  if (data && typeof data === "object" && data.net) return mountView(component);
}
