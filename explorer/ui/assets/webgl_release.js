// Release the WebGL contexts of canvases that have left the page (explorer/ui/webgl.py).
//
// Chromium keeps at most 16 WebGL contexts per page and, when a 17th is made, takes the
// oldest away ("Too many active WebGL contexts. Oldest context will be lost."). A Plotly
// WebGL chart makes its contexts when drawn; when Streamlit replaces the chart (a new
// figure) or Plotly draws it anew, the old canvases leave the page but keep their contexts
// until the garbage collector runs, which may be never. After a few lesson steps the
// oldest context was a live map's, which then showed empty axes.
//
// Every WebGL context made on a canvas that is in the page is noted; once a second its
// canvases are checked, and one that has been out of the page at two checks in a row gets
// its context lost at once (WEBGL_lose_context), which frees its slot. Canvases made off the
// page (the grid's offscreen WebGL2 canvas) are never touched.
(() => {
  if (globalThis.__vxGlRelease) return;
  const live = new Set();
  const state = (globalThis.__vxGlRelease = { released: 0, live });
  const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
    const ctx = getContext.call(this, type, ...rest);
    if (ctx && /webgl/i.test(String(type)) && !this.__vxGl && this.isConnected) {
      this.__vxGl = ctx;
      this.__vxAway = 0;
      live.add(this);
    }
    return ctx;
  };
  setInterval(() => {
    for (const canvas of live) {
      if (canvas.isConnected) { canvas.__vxAway = 0; continue; }
      if (++canvas.__vxAway < 2) continue;
      live.delete(canvas);
      canvas.__vxReleased = true;
      const ext = canvas.__vxGl.isContextLost() ? null : canvas.__vxGl.getExtension("WEBGL_lose_context");
      if (ext) ext.loseContext();
      state.released++;
    }
  }, 1000);
})();
