"""Command-line tools, thin argparse wrappers over :mod:`explorer.core`:
``python -m explorer.cli.train`` and ``python -m explorer.cli.evaluate``."""

from explorer.core.threads import configure_openmp

configure_openmp()  # before any command imports torch (see explorer.core.threads)
