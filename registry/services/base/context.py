"""Who acts, and with what: passed to every service that writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pluggy import PluginManager

from registry.clock import france_today
from registry.services.base.criteria import Catalogue


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
    #: The venue a venue's member acts for (a ``venue`` token): they act for it alone.
    venue_pk: int | None = None
    #: The prescriber a prescriber's member acts for (a ``prescriber`` token): its booklets alone.
    prescriber_pk: int | None = None

    def day(self) -> date:
        """Today in Paris (a server's clock may run on UTC: after 23:00 there, it is already tomorrow in France),
        or the day the context was given (tests, replays)."""
        return self.today or france_today()
