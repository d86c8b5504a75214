"""Which import profile reads a file: the one given (its TOML, or a name a plugin ships or a dataset remembers);
else a remembered profile that recognises the file, else the one the declared dataset was last imported with
when no format recognises the file.

A dataset remembers the profile of its last (real) import, so the next file of the same producer is read alike.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import InvalidInput
from registry.formats import Importer
from registry.models import DatasetProfile
from registry.profiles import ProfileError, ProfileImporter, load_profile

PREFIX = "profil:"


def load(text: str, origin: str = "profil") -> ProfileImporter:
    """The importer of a profile's TOML (``InvalidInput`` on field ``profile`` naming the key at fault)."""
    try:
        return ProfileImporter(load_profile(text, origin))
    except ProfileError as exc:
        raise InvalidInput.on("profile", str(exc)) from None


def remembered(session: Session) -> dict[str, ProfileImporter]:
    """The profiles datasets remember, by dataset (a stored profile no longer valid is skipped)."""
    found = {}
    for stored in session.scalars(select(DatasetProfile)):
        try:
            found[stored.dataset] = ProfileImporter(load_profile(stored.text, stored.dataset))
        except ProfileError:
            continue
    return found


def chosen(session: Session, name: str | None, text: str | None,
           available: dict[str, Importer]) -> ProfileImporter | None:
    """The profile an import is told to use (``text``: its TOML; ``name``: a plugin's profile, or a dataset's or
    its profile's name); ``None`` when none is named."""
    if text:
        return load(text, name or "profil")
    if name:
        stored = remembered(session)
        shipped = available.get(PREFIX + name)
        if isinstance(shipped, ProfileImporter):
            return shipped
        by_name = {importer.profile.name: importer for importer in stored.values()}
        if name in stored or name in by_name:
            return stored.get(name) or by_name[name]
        known = sorted({*stored, *(n.removeprefix(PREFIX) for n in available if n.startswith(PREFIX))})
        raise InvalidInput.on("profile", f"Profil inconnu : {name}. Donnez le chemin d'un fichier de profil (.toml)"
                                         + (f" ou l'un de : {', '.join(known)}." if known else "."))
    return None


def remember(session: Session, dataset: str, importer: ProfileImporter, actor: str) -> None:
    """Keep ``importer``'s profile as the one ``dataset`` is read with (in the caller's transaction)."""
    profile = importer.profile
    stored = session.get(DatasetProfile, dataset)
    if stored is None:
        session.add(DatasetProfile(dataset=dataset, name=profile.name, version=profile.version, text=profile.text,
                                   updated_by=actor))
    elif stored.text != profile.text:
        stored.name, stored.version, stored.text, stored.updated_by = (profile.name, profile.version, profile.text,
                                                                        actor)
