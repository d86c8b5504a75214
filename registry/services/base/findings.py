"""What a row, the commune resolver or a write's input produced besides the values stored: one ``Finding`` type,
with its kind in the words an import report shows (French, as they are)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Kinds of findings (shown as they are: French words).
REJECT, REPAIR, SET_ASIDE, CONVERSION = "rejet", "réparation", "valeur ignorée", "conversion"
WARNING, UNREAD_COLUMN, UNPUBLISHED = "avertissement", "colonne non lue", "dépublication"


@dataclass(slots=True)
class Finding:
    """Something said about one value: its ``kind`` (above), the field, the value as given, the French message."""

    kind: str
    field: str
    value: Any
    message: str
