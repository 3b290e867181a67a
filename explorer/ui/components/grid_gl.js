// The manifold grid computed in the page (explorer/ui/components/browser_grid.py), so that a new n,
// spacing or range shows at once, before the server's fragment rerun answers:
// - gridCoordinates: the grid's axis coordinates, the numbers of explorer/core/manifold.py's
//   manifold_coordinates ("paper": the inverse Gaussian CDF, as PyTorch computes it);
// - startGridGL: the decoder mean of all n * n codes at once in WebGL2, for the MLP decoders
//   the page already holds (explorer/ui/components/browser_decoder.js keeps them parsed in
//   globalThis.__vxDecoders.nets). One fragment-shader pass per layer over all codes (each
//   output texel: 4 units of K codes, activation(bias + W x)); the result is read back
//   without blocking the page (a pixel-pack buffer and a fence). Float32 textures (WebGL2 with
//   EXT_color_buffer_float); null where that is missing, and the page draws the server's pixels.
// No imports or exports: browser_grid.py puts this file in front of browser_grid.js, and the
// tests run it as a plain script.

// Cephes' ndtri (inverse of the standard normal CDF), as PyTorch's torch.special.ndtri
// computes it (ATen/native/Math.h, calc_ndtri): rational approximations on three intervals.
const NDTRI_P0 = [-5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1,
  1.39312609387279679503E1, -1.23916583867381258016E0];
const NDTRI_Q0 = [1.0, 1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1,
  -2.25462687854119370527E2, 2.00260212380060660359E2, -8.20372256168333339912E1, 1.59056225126211695515E1,
  -1.18331621121330003142E0];
const NDTRI_P1 = [4.05544892305962419923E0, 3.15251094599893866154E1, 5.71628192246421288162E1,
  4.40805073893200834700E1, 1.46849561928858024014E1, 2.18663306850790267539E0, -1.40256079171354495875E-1,
  -3.50424626827848203418E-2, -8.57456785154685413611E-4];
const NDTRI_Q1 = [1.0, 1.57799883256466749731E1, 4.53907635128879210584E1, 4.13172038254672030440E1,
  1.50425385692907503408E1, 2.50464946208309415979E0, -1.42182922854787788574E-1, -3.80806407691578277194E-2,
  -9.33259480895457427372E-4];
const NDTRI_P2 = [3.23774891776946035970E0, 6.91522889068984211695E0, 3.93881025292474443415E0,
  1.33303460815807542389E0, 2.01485389549179081538E-1, 1.23716634817820021358E-2, 3.01581553508235416007E-4,
  2.65806974686737550832E-6, 6.23974539184983293730E-9];
const NDTRI_Q2 = [1.0, 6.02427039364742014255E0, 3.67983563856160859403E0, 1.37702099489081330271E0,
  2.16236993594496635890E-1, 1.34204006088543189037E-2, 3.28014464682127739104E-4, 2.89247864745380683936E-6,
  6.79019408009981274425E-9];
const EXP_MINUS_2 = 0.13533528323661269189;

function polevl(x, coefficients) {
  let r = 0;
  for (const c of coefficients) r = r * x + c;
  return r;
}

// x with Phi(x) = p for p in [0, 1] (-Infinity at 0, Infinity at 1, NaN outside).
function ndtri(p) {
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (!(p > 0 && p < 1)) return NaN;
  let y = p, negate = true;
  if (y > 1 - EXP_MINUS_2) { y = 1 - y; negate = false; }
  if (y > EXP_MINUS_2) {
    y -= 0.5;
    const y2 = y * y;
    return (y + y * (y2 * polevl(y2, NDTRI_P0) / polevl(y2, NDTRI_Q0))) * 2.50662827463100050242;
  }
  const x = Math.sqrt(-2 * Math.log(y)), x0 = x - Math.log(x) / x, z = 1 / x;
  const x1 = x < 8 ? z * polevl(z, NDTRI_P1) / polevl(z, NDTRI_Q1) : z * polevl(z, NDTRI_P2) / polevl(z, NDTRI_Q2);
  return negate ? x1 - x0 : x0 - x1;
}

// The (n,) ascending axis coordinates of the grid: manifold.manifold_coordinates(n, spacing, low, high, margin).
// "paper": torch.linspace(margin, 1 - margin, n) (its symmetric formula) through ndtri;
// "linear": numpy.linspace(low, high, n) (start + i * step, the last point exactly high).
function gridCoordinates(n, spacing, low, high, margin) {
  const out = new Array(n);
  if (spacing === "paper") {
    const start = margin, end = 1 - margin, step = (end - start) / (n - 1), half = Math.floor(n / 2);
    for (let i = 0; i < n; i++) out[i] = ndtri(i < half ? start + step * i : end - step * (n - i - 1));
  } else {
    const step = (high - low) / (n - 1);
    for (let i = 0; i < n; i++) out[i] = i * step + low;
    out[n - 1] = high;
  }
  return out;
}

// Every cell's z, row-major with the top row first (manifold.manifold_z): z1 = coords[col], z2 = coords[n - 1 - row].
function gridCodes(coords) {
  const n = coords.length, z = new Float32Array(2 * n * n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) { z[2 * (r * n + c)] = coords[c]; z[2 * (r * n + c) + 1] = coords[n - 1 - r]; }
  }
  return z;
}

const LAYER_VS = `#version 300 es
in vec2 position;
void main() { gl_Position = vec4(position, 0.0, 1.0); }`;

// One layer for K codes at a time (K render targets, 4 to 8): texel (col, q) of layer t of the
// output (a texture array) holds units 4 col .. 4 col + 3 of code K q + t. Each weight texel
// fetched serves the K codes (software rendering's cost is mostly texture fetches).
function layerShader(K) {
  const each = (f) => Array.from({ length: K }, (_, t) => f(t)).join("\n");
  return `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;
precision highp sampler2DArray;
uniform sampler2DArray inputs;  // (in4, codes / K, K): the layer's input, 4 units a texel
uniform sampler2D weights;      // (in4, 4 out4): row o holds W[o, :], 4 inputs a texel, zero padded
uniform sampler2D biases;       // (out4, 1)
uniform int in4;
uniform int activation;         // 0: none, 1: ReLU, 2: sigmoid (the likelihood's mean)
${each((t) => `layout(location = ${t}) out vec4 out${t};`)}
vec4 act(vec4 a) {
  if (activation == 1) return max(a, 0.0);
  if (activation == 2) return 1.0 / (1.0 + exp(-clamp(a, -80.0, 80.0)));
  return a;
}
void main() {
  int col = int(gl_FragCoord.x), q = int(gl_FragCoord.y), row = 4 * col;
  vec4 b = texelFetch(biases, ivec2(col, 0), 0);
${each((t) => `  vec4 a${t} = b;`)}
  for (int i = 0; i < in4; i++) {
    // columns: the 4 weight rows, so that h * w = (dot(h, row 0), ..., dot(h, row 3))
    mat4 w = mat4(texelFetch(weights, ivec2(i, row), 0), texelFetch(weights, ivec2(i, row + 1), 0),
                  texelFetch(weights, ivec2(i, row + 2), 0), texelFetch(weights, ivec2(i, row + 3), 0));
${each((t) => `    a${t} += texelFetch(inputs, ivec3(i, q, ${t}), 0) * w;`)}
  }
${each((t) => `  out${t} = act(a${t});`)}
}`;
}

// The page's one WebGL2 context for grids (a page may hold only a few contexts): created on
// first use; null where WebGL2 or float render targets are missing.
// budgetMs: the longest expected decoding worth starting in the page (browser_grid.js; unset: 100 ms);
// msPerCode: the measured milliseconds per code, by decoder id.
const GRID_GL = (globalThis.__vxGridGL = globalThis.__vxGridGL || { state: undefined, msPerCode: new Map() });

function glState() {
  const s = GRID_GL.state;
  if (s === null || (s && !s.gl.isContextLost())) return s;
  GRID_GL.state = null;
  try {
    const gl = document.createElement("canvas").getContext("webgl2", { antialias: false, depth: false, stencil: false });
    if (!gl || !gl.getExtension("EXT_color_buffer_float")) return null;
    const shader = (type, source) => {
      const sh = gl.createShader(type);
      gl.shaderSource(sh, source);
      gl.compileShader(sh);
      if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(sh));
      return sh;
    };
    const program = gl.createProgram();
    gl.attachShader(program, shader(gl.VERTEX_SHADER, LAYER_VS));
    const K = Math.min(8, gl.getParameter(gl.MAX_DRAW_BUFFERS), gl.getParameter(gl.MAX_COLOR_ATTACHMENTS));
    gl.attachShader(program, shader(gl.FRAGMENT_SHADER, layerShader(K)));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
    const vao = gl.createVertexArray();  // one triangle over the whole target
    gl.bindVertexArray(vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
    const at = gl.getAttribLocation(program, "position");
    gl.enableVertexAttribArray(at);
    gl.vertexAttribPointer(at, 2, gl.FLOAT, false, 0, 0);
    const u = {};
    for (const name of ["inputs", "weights", "biases", "in4", "activation"]) u[name] = gl.getUniformLocation(program, name);
    GRID_GL.state = { gl, program, vao, u, K, max: gl.getParameter(gl.MAX_TEXTURE_SIZE), nets: new Map(), targets: new Map() };
  } catch (e) {
    console.warn("manifold grid: no WebGL2 decoding, the server's pixels are drawn", e);
  }
  return GRID_GL.state;
}

function nearest(gl, kind) {  // texelFetch needs a complete texture: no mipmaps
  gl.texParameteri(kind, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(kind, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
}

// A float32 RGBA texture of width x height texels (data: Float32Array of 4 * width * height).
function floatTexture(gl, width, height, data) {
  const t = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, t);
  nearest(gl, gl.TEXTURE_2D);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, width, height, 0, gl.RGBA, gl.FLOAT, data);
  return t;
}

// A float32 RGBA texture array of `layers` layers of width x height texels (data as floatTexture's, layer after layer).
function floatLayers(gl, width, height, layers, data) {
  const t = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D_ARRAY, t);
  nearest(gl, gl.TEXTURE_2D_ARRAY);
  gl.texImage3D(gl.TEXTURE_2D_ARRAY, 0, gl.RGBA32F, width, height, layers, 0, gl.RGBA, gl.FLOAT, data);
  return t;
}

// The net's layers as textures, uploaded once per net: weights (in4, 4 out4), biases (out4, 1).
function netTextures(s, net) {
  if (s.nets.has(net.id)) return s.nets.get(net.id);
  const gl = s.gl;
  const layers = net.layers.map((l) => {
    const in4 = Math.ceil(l.nIn / 4), out4 = Math.ceil(l.nOut / 4);
    const w = new Float32Array(4 * in4 * 4 * out4), b = new Float32Array(4 * out4);
    for (let o = 0; o < l.nOut; o++) w.set(l.w.subarray(o * l.nIn, (o + 1) * l.nIn), o * 4 * in4);
    b.set(l.b);
    return { in4, out4, relu: l.relu, weights: floatTexture(gl, in4, 4 * out4, w), biases: floatTexture(gl, out4, 1, b) };
  });
  s.nets.set(net.id, layers);
  return layers;
}

// A render target of K layers of width x height float texels, kept for reuse (one per layer index and size).
function target(s, key, width, height) {
  if (s.targets.has(key)) return s.targets.get(key);
  const gl = s.gl, texture = floatLayers(gl, width, height, s.K, null), fb = gl.createFramebuffer();
  gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
  const buffers = Array.from({ length: s.K }, (_, t) => gl.COLOR_ATTACHMENT0 + t);
  buffers.forEach((b, t) => gl.framebufferTextureLayer(gl.FRAMEBUFFER, b, texture, 0, t));
  gl.drawBuffers(buffers);
  const ok = gl.checkFramebufferStatus(gl.FRAMEBUFFER) === gl.FRAMEBUFFER_COMPLETE;
  s.targets.set(key, ok ? { texture, fb } : null);
  return s.targets.get(key);
}

// Start decoding every code on the GPU; the page goes on while it runs (software rendering
// takes hundreds of ms for a 30 x 30 grid). net: a parsed decoder (browser_decoder.js parseNet:
// id, latent, cond, layers {nIn, nOut, relu, w, b}); codes: Float32Array of latent * count values;
// y: the label of a conditional decoder. Returns null where WebGL2 cannot run it, else a job:
// ready() is true once the GPU is done; discard() drops it; pixels() gives the decoder means of the codes quantised
// like the server's grid (round(255 x), browser_grid.grid_pixels), a Uint8Array of count * C * H * W
// values cell after cell (waiting for the GPU if it is not done), or null after a GL error.
function startGridGL(net, codes, y) {
  const s = glState();
  if (!s) return null;
  const gl = s.gl, K = s.K, count = codes.length / net.latent, rows = Math.ceil(count / K), nIn = net.latent + net.cond;
  if (rows > s.max || net.layers.some((l) => 4 * Math.ceil(l.nOut / 4) > s.max)) return null;
  const layers = netTextures(s, net), in4 = Math.ceil(nIn / 4);
  const input = new Float32Array(4 * in4 * rows * K);  // code c: layer c % K, row floor(c / K)
  for (let c = 0; c < count; c++) {
    const at = 4 * in4 * ((c % K) * rows + Math.floor(c / K));
    for (let i = 0; i < net.latent; i++) input[at + i] = codes[net.latent * c + i];
    if (net.cond) input[at + net.latent + y] = 1;
  }
  const inputTexture = floatLayers(gl, in4, rows, K, input);
  gl.useProgram(s.program);
  gl.bindVertexArray(s.vao);
  gl.uniform1i(s.u.inputs, 0);
  gl.uniform1i(s.u.weights, 1);
  gl.uniform1i(s.u.biases, 2);
  let source = inputTexture, out4 = 0;
  for (let k = 0; k < layers.length; k++) {
    const l = layers[k], out = target(s, `${k}:${l.out4}x${rows}`, l.out4, rows);
    if (!out) { gl.deleteTexture(inputTexture); return null; }
    gl.bindFramebuffer(gl.FRAMEBUFFER, out.fb);
    gl.viewport(0, 0, l.out4, rows);
    gl.activeTexture(gl.TEXTURE0); gl.bindTexture(gl.TEXTURE_2D_ARRAY, source);
    gl.activeTexture(gl.TEXTURE1); gl.bindTexture(gl.TEXTURE_2D, l.weights);
    gl.activeTexture(gl.TEXTURE2); gl.bindTexture(gl.TEXTURE_2D, l.biases);
    gl.uniform1i(s.u.in4, l.in4);
    gl.uniform1i(s.u.activation, k === layers.length - 1 ? 2 : l.relu ? 1 : 0);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    source = out.texture;
    out4 = l.out4;
  }
  // read the K output layers back into a buffer of this job's (no wait here), then a fence
  const stride = 4 * out4, buffer = gl.createBuffer();
  gl.bindBuffer(gl.PIXEL_PACK_BUFFER, buffer);
  gl.bufferData(gl.PIXEL_PACK_BUFFER, 4 * stride * rows * K, gl.STREAM_READ);
  for (let t = 0; t < K; t++) {
    gl.readBuffer(gl.COLOR_ATTACHMENT0 + t);
    gl.readPixels(0, 0, out4, rows, gl.RGBA, gl.FLOAT, 4 * t * stride * rows);
  }
  gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
  gl.deleteTexture(inputTexture);
  const fence = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
  gl.flush();
  const cell = net.layers[net.layers.length - 1].nOut;
  const discard = () => { gl.deleteBuffer(buffer); gl.deleteSync(fence); };
  return {
    ready: () => gl.getSyncParameter(fence, gl.SYNC_STATUS) === gl.SIGNALED,
    discard,
    pixels: () => {
      const values = new Float32Array(stride * rows * K);
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, buffer);
      gl.getBufferSubData(gl.PIXEL_PACK_BUFFER, 0, values);
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
      discard();
      if (gl.getError() !== gl.NO_ERROR) return null;
      const pixels = new Uint8Array(cell * count);
      for (let c = 0; c < count; c++) {
        const at = stride * ((c % K) * rows + Math.floor(c / K));
        for (let p = 0; p < cell; p++) {
          const v = Math.floor(values[at + p] * 255 + 0.5);
          pixels[c * cell + p] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
      }
      return pixels;
    },
  };
}

// startGridGL's pixels at once (waits for the GPU): for the benchmark and the tests.
function decodeGridGL(net, codes, y) {
  const job = startGridGL(net, codes, y);
  return job && job.pixels();
}

GRID_GL.decodeGridGL = decodeGridGL;
GRID_GL.available = () => !!glState();
GRID_GL.gridCoordinates = gridCoordinates;
GRID_GL.gridCodes = gridCodes;
