"""The one progress convention of long work: ``progress(done, total)``, cumulative (``done`` never goes back;
``total`` 0 while unknown). The CLI draws it as one bar (``registry.cli.core``), a job records it (``jobs``)."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """Progress that nobody follows."""
