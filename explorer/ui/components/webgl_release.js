// Release the WebGL contexts of canvases that have left the page (explorer/ui/components/webgl.py).
//
// Chromium keeps at most 16 WebGL contexts per page and, when a 17th is made, takes the
// oldest away ("Too many active WebGL contexts. Oldest context will be lost."). A Plotly
// WebGL chart makes its contexts when drawn; when Streamlit replaces the chart (a new
// figure) or Plotly draws it anew, the old canvases leave the page but keep their contexts
// until the garbage collector runs, which may be never. After a few lesson steps the
// oldest context was a live map's, which then showed empty axes.
//
// Every WebGL context made on a canvas that is in the page is noted. When nodes leave the
// page (a MutationObserver on the document), each noted canvas that is out of it and still
// out after the current task (a node moved within the page is back by then) gets its
// context lost at once (WEBGL_lose_context), which frees its slot before the next chart
// makes one. (It waited for two once-a-second checks before: a lesson step's new charts
// then met the old ones' contexts, and Chromium warned.) A once-a-second check stays as a
// safety net. Canvases made off the page (the grid's offscreen WebGL2 canvas) are never
// touched. ``peak`` is the most noted contexts alive at once (for the tests).
(() => {
  if (globalThis.__vxGlRelease) return;
  const live = new Set();
  const state = (globalThis.__vxGlRelease = { released: 0, live, peak: 0 });
  const alive = () => [...live].filter((c) => !c.__vxGl.isContextLost()).length;
  const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
    const ctx = getContext.call(this, type, ...rest);
    if (ctx && /webgl/i.test(String(type)) && !this.__vxGl && this.isConnected) {
      this.__vxGl = ctx;
      live.add(this);
      state.peak = Math.max(state.peak, alive());
    }
    return ctx;
  };
  const release = () => {
    for (const canvas of live) {
      if (canvas.isConnected) continue;
      live.delete(canvas);
      canvas.__vxReleased = true;
      const ext = canvas.__vxGl.isContextLost() ? null : canvas.__vxGl.getExtension("WEBGL_lose_context");
      if (ext) ext.loseContext();
      state.released++;
    }
  };
  let pending = false;
  new MutationObserver((records) => {
    if (pending || !live.size || !records.some((r) => r.removedNodes.length)) return;
    pending = true;
    setTimeout(() => { pending = false; release(); }, 0);
  }).observe(document, { childList: true, subtree: true });
  setInterval(release, 1000);
})();
