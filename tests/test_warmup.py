"""The warm-up thread imports what the first page left out, once per process."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_warmup_imports_torchvision_once_in_a_background_thread():
    code = ("import sys\n"
            "from explorer.ui import warmup\n"
            "assert 'torchvision' not in sys.modules\n"
            "thread = warmup.start(delay=0)\n"
            "assert thread is not None and thread.daemon and warmup.start() is None\n"
            "thread.join(120)\n"
            "print(all(name in sys.modules for name in warmup.MODULES))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(REPO))
    assert out.stdout.strip() == "True"
