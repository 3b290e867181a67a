"""Command-line tools, thin argparse wrappers over :mod:`explorer.core`:
``python -m explorer.cli.train`` and ``python -m explorer.cli.evaluate``."""
