"""The CLI's one progress bar, fed by a service's ``progress(done, total)`` (``registry.services.base.progress``:
cumulative; ``total`` 0 while unknown, when the bar shows the count alone)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from registry.services.base.progress import Progress


@contextmanager
def progressbar(label: str) -> Iterator[Progress]:
    """A bar on stderr (the output stays clean for pipes); yields the ``progress`` callback to give a service."""
    with click.progressbar(length=0, label=label, file=sys.stderr, show_pos=True) as bar:
        def advance(done: int, total: int) -> None:
            if total:
                bar.length = total
            bar.update(done - bar.pos)

        yield advance
