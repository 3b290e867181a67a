"""Progress bars for the command lines (tqdm), on stderr so stdout keeps only the JSON.

The model library reports progress through callbacks (``on_batch`` of
:func:`explorer.core.train.train`, ``on_progress`` of
:func:`explorer.core.iwae.importance_weighted_nll`); the bars live here, in the command
line, so the library does not depend on tqdm.
"""

from __future__ import annotations

import sys

from tqdm import tqdm


class EpochBars:
    """One bar per epoch, fed by the training loop's ``on_batch`` callback
    (:class:`explorer.core.train.BatchProgress`): batches done, rate, time left and the
    batch loss in nats per image.

    Args:
        epochs: epochs in the run (for the bar's label).
        what: label prefix, e.g. "epoch".
    """

    def __init__(self, epochs: int, what: str = "epoch") -> None:
        self.epochs = epochs
        self.what = what
        self.bar: tqdm | None = None

    def __call__(self, progress) -> None:
        if self.bar is None or progress.batch == 1:
            self.close()
            self.bar = tqdm(total=progress.num_batches, desc=f"{self.what} {progress.epoch}/{self.epochs}",
                            unit="batch", file=sys.stderr, dynamic_ncols=True)
        self.bar.update(1)
        self.bar.set_postfix_str(f"loss {progress.loss:.2f}", refresh=False)
        if progress.batch == progress.num_batches:
            self.close()

    def close(self) -> None:
        """Close the open bar, if any (safe to call twice)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def write(line: str) -> None:
    """One line on stderr that does not break an open bar."""
    tqdm.write(line, file=sys.stderr)


def bar(total: int, desc: str, unit: str) -> tqdm:
    """A bar on stderr (rate with SI prefixes, time left); call ``update(n)`` and ``close()``."""
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, file=sys.stderr,
                dynamic_ncols=True)
