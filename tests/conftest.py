"""Shared fixtures: real MNIST, the shipped checkpoints, a running app server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VAE_CHECKPOINT = REPO / "checkpoints" / "mnist_vae_z2.pt"
AE_CHECKPOINT = REPO / "checkpoints" / "mnist_ae_z2.pt"
ARTIFACTS = REPO / "artifacts"


@pytest.fixture(scope="session")
def mnist():
    """Both real MNIST splits, loaded once."""
    from explorer.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def vae_checkpoint():
    from explorer.checkpoints import load_checkpoint

    return load_checkpoint(VAE_CHECKPOINT)


@pytest.fixture(scope="session")
def ae_checkpoint():
    from explorer.checkpoints import load_checkpoint

    return load_checkpoint(AE_CHECKPOINT)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where browser tests save screenshots for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(artifacts_dir):
    """`streamlit run app.py` on a free loopback port; yields its URL, stops it after."""
    port = _free_port()
    log = open(artifacts_dir / "streamlit-server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
         f"--server.port={port}", "--server.address=127.0.0.1",
         "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"streamlit did not start; see {log.name}")
        time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launch options: Debian's chromium, headless, no network chatter."""
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A tall viewport: Streamlit scrolls inside its own container, not the page."""
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1600}}
