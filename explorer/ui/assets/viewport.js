// The window's size class for the server (explorer/ui/viewport.py): "large" on a
// projector-sized window (at least 1600 x 950 CSS pixels), else "small". It is sent only
// when it differs from the class the server drew the page for (data.screen), on load and
// after a resize, so a laptop-sized window costs no extra run.
export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const box = parentElement.closest && parentElement.closest('[data-testid="stElementContainer"]');
  if (box) box.style.display = "none";
  const screenClass = () => (window.innerWidth >= 1600 && window.innerHeight >= 950 ? "large" : "small");
  let timer = 0;
  const report = () => {
    const now = screenClass();
    if (now !== data.screen) setStateValue("screen", now);
  };
  const onResize = () => { clearTimeout(timer); timer = setTimeout(report, 300); };
  report();
  window.addEventListener("resize", onResize);
  return () => { clearTimeout(timer); window.removeEventListener("resize", onResize); };
}
