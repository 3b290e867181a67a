"""What the browser tests (``tests/``) and the benchmarks (``bench/``) share, in the one
place both may import (neither ``bench/`` nor ``explorer/`` imports ``tests/``), like
Streamlit's own ``streamlit.testing``:

- :mod:`explorer.testing.browser`: the headless-Chromium driver (start a server, open the
  Explorer, wait for the app's runs, click and time the map and the grid).

Never imported by the app itself.
"""
