"""Bulk work over a large live heap: keep the garbage collector's full collections out of the way."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen() -> Iterator[None]:
    """Run a block without full collections: the objects alive before it (territory reference, application,
    ORM metadata) and those it keeps (report lines, ids seen) would be scanned again and again, costing more
    than the import or export itself (unpickling a batch: 10× slower). Call ``collect_young`` between
    batches; everything is handed back to the collector afterwards."""
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def collect_young() -> None:
    """Collect the cycles of the youngest generations only (cheap: never a full collection)."""
    gc.collect(1)
