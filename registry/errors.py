"""Domain errors raised by services; the web layer turns them into JSON problem details."""

from __future__ import annotations

__all__ = ["RegistryError", "InvalidInput", "NotFound", "Conflict", "StaleRevision", "PreconditionRequired",
           "Unauthorized", "Forbidden"]


class RegistryError(Exception):
    """Base of domain errors: an HTTP status and a French message."""

    status = 400
    title = "Requête invalide"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class InvalidInput(RegistryError):
    """Input that is well-formed but wrong; ``errors`` maps each field to its messages."""

    status = 422
    title = "Données invalides"

    @classmethod
    def on(cls, field: str, message: str) -> InvalidInput:
        """An error on one field."""
        return cls(f"{field} : {message}", {field: [message]})


class NotFound(RegistryError):
    status = 404
    title = "Introuvable"


class Conflict(RegistryError):
    status = 409
    title = "Conflit"


class StaleRevision(RegistryError):
    """The client's ``If-Match`` names a revision that is no longer the current one."""

    status = 412
    title = "Version périmée"


class PreconditionRequired(RegistryError):
    status = 428
    title = "En-tête If-Match requis"


class Unauthorized(RegistryError):
    status = 401
    title = "Authentification requise"


class Forbidden(RegistryError):
    status = 403
    title = "Accès refusé"
