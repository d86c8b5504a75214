"""Open usage data: no count under 5 is published, nor recoverable by difference from a published total and its
other parts, at any level (venue-month, venue-year, commune-month, commune-year): a property test over random
small datasets; and the published files, without login, on both databases."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from registry.services.passes import open_data

cells_strategy = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 2), st.sampled_from(["2026-01", "2026-02", "2026-03", "2027-01"]),
              st.one_of(st.integers(1, 4), st.integers(1, 30))),
    min_size=1, max_size=25)


@settings(max_examples=400, deadline=None)
@given(cells_strategy, st.booleans())
def test_no_count_under_five_is_published_or_recoverable(raw, without_commune):
    communes = {}
    cells = []
    seen = set()
    for venue, commune, month, count in raw:
        commune_of = communes.setdefault(venue, None if without_commune and venue == 0 else f"1220{commune}")
        if (venue, month) in seen:
            continue
        seen.add((venue, month))
        cells.append((f"v{venue}", commune_of, month, count))
    values, equations, blocks = open_data.build(cells)
    hidden = open_data.suppress(values, equations, blocks=blocks)
    # Nothing from 1 to 4 is published.
    assert all(not 0 < v < 5 for k, v in values.items() if k not in hidden)
    # No equation with a published total leaves one hidden part alone, or hidden parts adding up to 1-4.
    for total, parts in equations:
        secret = [p for p in parts if p in hidden]
        if total not in hidden and secret:
            assert len(secret) >= 2 and sum(values[p] for p in secret) >= 5
        if total in hidden and any(values[p] for p in parts):
            assert secret, (total, parts)
    # No hidden count under 5 is determined by every published figure together.
    recovered = open_data.determined(equations, hidden)
    assert not [k for k in recovered if values[k] < 5], (cells, hidden)
