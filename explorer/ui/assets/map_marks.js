// The latent map's marks in the page (explorer/ui/map_marks.py). The server sends the map
// without its marks (the selected digit's ring and posterior ellipses, the decoder's star),
// so a click leaves the map's figure as it was: Streamlit keeps the chart instead of drawing
// its 10,000 points anew. This element carries the marks as layout shapes ({map: CSS
// selector, names: the marks' names, shapes: the ones shown}) and puts them on the map with
// one Plotly.relayout (shapes only: no redraw of the points); again whenever the chart is
// drawn anew (a new graph div).
export default function (component) {
  const { data, parentElement } = component;
  // nothing to show: take the element out of the layout (no gap in the column)
  const box = parentElement.closest && parentElement.closest('[data-testid="stElementContainer"]');
  if (box) box.style.display = "none";
  // Streamlit calls this function again whenever the data changes and runs the returned
  // cleanup only when the element goes away: end the previous call's loop here.
  if (parentElement.__vxMarksCleanup) parentElement.__vxMarksCleanup();
  let alive = true, frame = 0;
  const apply = () => {
    if (!alive) return;
    const gd = document.querySelector(data.map);
    if (gd && gd._fullLayout && globalThis.Plotly && gd.__vxMarks !== data) {
      gd.__vxMarks = data;
      const others = (gd.layout.shapes || []).filter((s) => !data.names.includes(s.name));
      globalThis.Plotly.relayout(gd, { shapes: [...others, ...JSON.parse(JSON.stringify(data.shapes))] });
    }
    frame = requestAnimationFrame(apply);
  };
  apply();
  const cleanup = () => {
    alive = false;
    cancelAnimationFrame(frame);
    if (parentElement.__vxMarksCleanup === cleanup) parentElement.__vxMarksCleanup = null;
  };
  parentElement.__vxMarksCleanup = cleanup;
  return cleanup;
}
