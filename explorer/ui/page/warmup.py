"""Heavy imports the first page does not need, done in a background thread once it is drawn.

The Explorer page draws its map without torchvision (images are tiled and encoded with
torch and Pillow; the encodings come from the disk cache), which saves seconds of a
fresh server's first run: its import pulls in ``torch._dynamo``. Other pages and the
first click on a digit (which reads the MNIST test images through torchvision) do need
it: :func:`start` imports it in a daemon thread shortly after the first page run (the
delay leaves the CPU to the browser drawing the map), so it is ready by the time a
person acts (a script that needs it meanwhile waits on Python's import lock until the
thread has finished).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import sys
import threading
import time

#: Imported in this order by the warm-up thread.
MODULES = ("torchvision.datasets", "torchvision.utils")
#: Seconds between the first page run's end and the imports: about what a browser takes
#: to draw the 10,000-point map on this 2-core machine. Scheduling only; nothing waits on it.
DELAY_SECONDS = 2.0
#: Half-second waits per module for a page's import of it to end, at most.
IMPORT_WAITS = 120

_started = threading.Event()
_lock = threading.Lock()


def _initialized(name: str) -> bool:
    """True once module ``name`` and the packages above it are imported to the end (not
    still being imported by another thread)."""
    parts = name.split(".")
    for k in range(1, len(parts) + 1):
        module = sys.modules.get(".".join(parts[:k]))
        if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
            return False
    return True


def _import_all() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the page that needs it reports the error
            pass
        # while a page imports the same modules, Python hands this thread the half-imported
        # module (its import deadlock avoidance): wait, so that the freeze below includes them
        for _ in range(IMPORT_WAITS):
            if _initialized(name):
                break
            time.sleep(0.5)
    freeze_long_lived()


def freeze_long_lived() -> None:
    """Leave the objects alive now out of every later garbage collection (``gc.freeze``):
    the imported libraries (torch, Plotly, Streamlit), the first page's models and caches.

    Streamlit collects all generations after every script run, a fragment's too
    (``runner.postScriptGC``), and a full collection visits every tracked object: about
    450,000 once the Explorer has run, about 200 ms of CPU per run on the project's 2-core
    machine, more than a click's own work. Frozen objects are skipped, so the collection
    after a run visits only what later runs made; they are still freed when no longer
    referenced, but a reference cycle among them is never collected (the first session's
    objects alive at this moment are the only short-lived ones, once per process). They
    are unfrozen at exit, so that the interpreter's last collection still frees them
    (else torch's nanobind extensions report them as leaked).
    """
    gc.collect()
    gc.freeze()
    atexit.register(gc.unfreeze)


def start(delay: float = DELAY_SECONDS) -> threading.Thread | None:
    """Start the warm-up thread (imports after ``delay`` seconds), once per process; the
    thread, or None if it was started before."""
    with _lock:
        if _started.is_set():
            return None
        _started.set()
    thread = threading.Timer(delay, _import_all)
    thread.name, thread.daemon = "explorer-warmup", True
    thread.start()
    return thread
