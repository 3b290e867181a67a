"""The warm-up thread imports what the first page left out, once per process."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers.paths import REPO


def test_warmup_imports_torchvision_once_in_a_background_thread():
    code = ("import sys\n"
            "from explorer.ui.page import warmup\n"
            "assert 'torchvision' not in sys.modules\n"
            "thread = warmup.start(delay=0)\n"
            "assert thread is not None and thread.daemon and warmup.start() is None\n"
            "thread.join(120)\n"
            "print(all(name in sys.modules for name in warmup.MODULES))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(REPO))
    assert out.stdout.strip() == "True"


def test_after_the_warmup_the_libraries_are_frozen_out_of_collections_and_new_cycles_still_free():
    """Streamlit collects every generation after each run (runner.postScriptGC); the
    warm-up freezes what is alive then (torch, torchvision, Plotly), so that collection
    visits only what later runs made. A reference cycle made after the freeze is still
    collected, and the process exits cleanly (the objects are unfrozen at exit)."""
    code = ("import gc, weakref\n"
            "import torch, plotly.graph_objects\n"
            "from explorer.ui.page import warmup\n"
            "assert gc.get_freeze_count() == 0\n"
            "warmup.start(delay=0).join(120)\n"
            "frozen = gc.get_freeze_count()\n"
            "class Node: pass\n"
            "a, b = Node(), Node(); a.b, b.a = b, a\n"
            "alive = weakref.ref(a); del a, b\n"
            "gc.collect()\n"
            "print(frozen, len(gc.get_objects()), alive() is None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(REPO))
    frozen, tracked, cycle_freed = out.stdout.split()
    assert int(frozen) > 100_000  # torch, torchvision and Plotly: hundreds of thousands of objects
    assert int(tracked) < int(frozen) // 10  # what the next collection visits
    assert cycle_freed == "True"
    assert "leak" not in out.stderr.lower()
