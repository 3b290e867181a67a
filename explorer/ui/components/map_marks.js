// The latent map's marks and clicks in the page (explorer/ui/components/map_marks.py).
//
// Marks: the server sends the map without its marks (the selected digit's ring and
// posterior ellipses, the decoder's star), so a click leaves the map's figure as it was:
// Streamlit keeps the chart instead of drawing its 10,000 points anew. This element carries
// the marks as layout shapes ({map: CSS selector, names: the marks' names, shapes: the ones
// shown}) and puts them on the map with one Plotly.relayout (shapes only: no redraw of the
// points); again whenever the chart is drawn anew (a new graph div) or updated in place
// (Plotly.react: a new layout object, without the marks).
//
// The decoder's star (the shape named data.star) has this one owner: where the page decodes
// the sliders' z itself (data.sliders: the z sliders' widget keys), the star follows their DOM
// inputs every frame, without a rerun; else it stays at the server's z.
//
// Clicks: the map's clickmode is "event" (no Plotly selection: selecting a point restyles
// and redraws every WebGL point, about 100 ms in software rendering, before Streamlit's
// selection event is even sent). A plotly_click is sent at once as this element's trigger
// "click": {points: [{curve_number, point_number, point_index, x, y, customdata}]}, the
// shape of Streamlit's selection points; a click on the invisible catcher within data.pick_px
// of a shown digit is sent as the digit's (see digitUnder).
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  // nothing to show: take the element out of the layout (no gap in the column)
  const box = parentElement.closest && parentElement.closest('[data-testid="stElementContainer"]');
  if (box) box.style.display = "none";
  // Streamlit calls this function again whenever the data changes and runs the returned
  // cleanup only when the element goes away: end the previous call's loop here.
  if (parentElement.__vxMarksCleanup) parentElement.__vxMarksCleanup();
  let alive = true, frame = 0;
  // Plotly reports the point nearest to the cursor, and the click catcher's points lie a
  // few pixels apart, closer than a digit's dot is wide: a click on a dot, off its centre,
  // reached the catcher. A catcher click within data.pick_px of a shown digit's centre is
  // that digit's click (the nearest such digit), in the shape Plotly gives its points.
  const digitUnder = (event) => {
    const points = event && event.points ? event.points : [];
    const gd = document.querySelector(data.map), mouse = event && event.event;
    const last = points[points.length - 1];
    if (!gd || !gd._fullData || !mouse || !last || !data.catcher || !data.pick_px) return points;
    const clicked = gd._fullData[last.curveNumber];
    if (!clicked || clicked.name !== data.catcher) return points;
    const r = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const mx = mouse.clientX - r.left - xa._offset, my = mouse.clientY - r.top - ya._offset;
    let best = null, bestDist = data.pick_px;
    gd._fullData.forEach((t, c) => {
      if (c >= data.digit_traces || t.visible !== true || !t.x) return;
      for (let i = 0; i < t.x.length; i++) {
        const d = Math.hypot(xa.l2p(t.x[i]) - mx, ya.l2p(t.y[i]) - my);
        if (d <= bestDist) { bestDist = d; best = {curveNumber: c, pointNumber: i, pointIndex: i, x: t.x[i], y: t.y[i],
                                                  customdata: t.customdata ? t.customdata[i] : undefined}; }
      }
    });
    return best ? [best] : points;
  };
  const sendClick = (event) => {
    const points = digitUnder(event).map((p) => ({
      curve_number: p.curveNumber, point_number: p.pointNumber,
      point_index: p.pointIndex === undefined ? p.pointNumber : p.pointIndex,
      x: p.x, y: p.y, customdata: p.customdata === undefined ? null : p.customdata,
    }));
    if (points.length) setTriggerValue("click", { points });
  };
  // The sliders' z ([z1, z2]), or null where they are not given or not (yet) in the page.
  const sliderZ = () => {
    if (!data.sliders) return null;
    const inputs = data.sliders.map((k) => document.querySelector(`.st-key-${k} input[type=range]`));
    return inputs.every((i) => i && i.value !== "") ? inputs.map((i) => Number(i.value)) : null;
  };
  const starAt = (shapes, z) => (z ? shapes.map((s) => (s.name === data.star ? { ...s, xanchor: z[0], yanchor: z[1] } : s))
    : shapes);
  // The whole shapes array goes to relayout: Plotly then redraws the shapes only (1-6 ms), where
  // a relayout of shapes[i].xanchor redrew the WebGL points too (30-70 ms in software
  // rendering). The star moves at most once per 50 ms.
  let starMoved = 0;
  const followSliders = (gd) => {
    const z = sliderZ(), now = performance.now();
    if (!z || now - starMoved < 50) return;
    const shapes = gd.layout.shapes || [], star = shapes.find((s) => s.name === data.star);
    if (!star || (star.xanchor === z[0] && star.yanchor === z[1])) return;
    starMoved = now;
    globalThis.Plotly.relayout(gd, { shapes: starAt(shapes, z) });
    gd.__vxMarkedLayout = gd.layout;
  };
  const apply = () => {
    if (!alive) return;
    const gd = document.querySelector(data.map);
    if (gd && gd._fullLayout && globalThis.Plotly) {
      // the graph div outlives this call (data changes): its one listener calls the latest sender
      gd.__vxSendClick = sendClick;
      if (!gd.__vxClickListener && gd.on) {
        gd.__vxClickListener = (event) => gd.__vxSendClick && gd.__vxSendClick(event);
        gd.on("plotly_click", gd.__vxClickListener);
      }
      // again when the chart was updated in place (Plotly.react, as Streamlit does when the
      // figure changes: a new size, a new trace) since the marks went on: react gives the
      // graph div a new layout object, the server's, without the marks
      if (gd.__vxMarks !== data || gd.__vxMarkedLayout !== gd.layout) {
        gd.__vxMarks = data;
        const others = (gd.layout.shapes || []).filter((s) => !data.names.includes(s.name));
        const marks = starAt(JSON.parse(JSON.stringify(data.shapes)), sliderZ());
        globalThis.Plotly.relayout(gd, { shapes: [...others, ...marks] });
        gd.__vxMarkedLayout = gd.layout;  // relayout changes the layout object in place
      } else followSliders(gd);
    }
    frame = requestAnimationFrame(apply);
  };
  apply();
  const cleanup = () => {
    alive = false;
    cancelAnimationFrame(frame);
    const gd = document.querySelector(data.map);
    if (gd && gd.__vxSendClick === sendClick) gd.__vxSendClick = null;
    if (parentElement.__vxMarksCleanup === cleanup) parentElement.__vxMarksCleanup = null;
  };
  parentElement.__vxMarksCleanup = cleanup;
  return cleanup;
}
