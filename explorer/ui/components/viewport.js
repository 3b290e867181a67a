// The window's size class for the server (explorer/ui/components/viewport.py): "large" on a
// projector-sized window (at least 1600 x 950 CSS pixels), else "small". It is sent only
// when it differs from the class the server drew the page for (data.screen), on load and
// after a resize, so a laptop-sized window costs no extra run, and kept in the cookie
// data.cookie for the server's first guess in this browser's next session. On a browser's
// first visit (data.known false: no cookie yet) it is sent in any case: the pages wait for
// it to draw what is sized to the window (the maps), so they are drawn once.
export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const box = parentElement.closest && parentElement.closest('[data-testid="stElementContainer"]');
  if (box) box.style.display = "none";
  const screenClass = () => (window.innerWidth >= 1600 && window.innerHeight >= 950 ? "large" : "small");
  let timer = 0;
  const report = () => {
    const now = screenClass();
    // the class is also kept in a cookie, the server's first guess for this browser's next
    // session (explorer/ui/components/viewport.py): a projector's page is then drawn once, at its size
    document.cookie = `${data.cookie}=${now}; path=/; max-age=31536000; SameSite=Lax`;
    if (now !== data.screen || !data.known) setStateValue("screen", now);
  };
  const onResize = () => { clearTimeout(timer); timer = setTimeout(report, 300); };
  report();
  window.addEventListener("resize", onResize);
  return () => { clearTimeout(timer); window.removeEventListener("resize", onResize); };
}
