"""Who acts, and with what: passed to every service that writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pluggy import PluginManager

from registry.services.criteria import Catalogue


@dataclass
class Context:
    """The actor of a write, the plugins to notify, the criteria catalogue and the actor's territory scope.

    ``scope``: territory references (``departement:12``...) an operator is limited to; empty means everywhere.
    """

    actor: str
    plugins: PluginManager | None = None
    catalogue: Catalogue = field(default_factory=Catalogue)
    scope: tuple[str, ...] = ()
    today: date | None = None

    def day(self) -> date:
        """Today, or the day the context was given (tests, replays)."""
        return self.today or date.today()
