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

import importlib
import threading

#: Imported in this order by the warm-up thread.
MODULES = ("torchvision.datasets", "torchvision.utils")
#: Seconds between the first page run's end and the imports: about what a browser takes
#: to draw the 10,000-point map on this 2-core machine. Scheduling only; nothing waits on it.
DELAY_SECONDS = 2.0

_started = threading.Event()
_lock = threading.Lock()


def _import_all() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the page that needs it reports the error
            pass


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
