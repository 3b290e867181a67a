"""The browser driver shared by the tests and the benchmarks lives in
:mod:`explorer.testing.browser` (``bench/`` may not import ``tests/``); the tests import it
from here as well."""

from explorer.testing.browser import *  # noqa: F401,F403
