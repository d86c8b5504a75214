"""PostgreSQL: the schema belongs to the migrations' role; the application serves as a role with the rights it
needs and no more (no ownership, no TRUNCATE, no trigger control, and on the journal only SELECT and INSERT), so
that no role of the application can disable, drop or bypass the journal's triggers."""

from __future__ import annotations

from sqlalchemy import Engine, text

from registry.errors import RegistryError

#: Tables written once and never changed: the serving role may read and add to them, nothing else.
APPEND_ONLY = ("journal_entries", "journal_seals")
#: Tables the serving role only reads.
READ_ONLY = ("alembic_version", "journal_chain_start")


class RoleError(RegistryError):
    """The roles are not arranged as the registry needs (French message)."""

    title = "Rôles de la base inadaptés"


def serving_role_problems(owner: Engine, role: str) -> list[str]:
    """What would let ``role`` rewrite the journal: superuser or replication rights, owning a table, or the
    schema's ownership (French)."""
    problems = []
    with owner.connect() as connection:
        found = connection.execute(text("SELECT rolsuper, rolreplication, rolbypassrls FROM pg_roles "
                                        "WHERE rolname = :role"), {"role": role}).first()
        if found is None:
            return [f"le rôle {role} n'existe pas"]
        if found.rolsuper:
            problems.append(f"{role} est superutilisateur (il peut désactiver les déclencheurs)")
        if found.rolreplication:
            problems.append(f"{role} a le droit REPLICATION")
        owned = connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                        "AND tableowner = :role ORDER BY tablename"), {"role": role}).scalars().all()
        if owned:
            problems.append(f"{role} possède des tables ({', '.join(owned[:5])}…)")
    return problems


def grant_serving_role(owner: Engine, role: str) -> None:
    """Give ``role`` exactly what serving needs on the tables the migrations made (idempotent); ``RoleError`` when
    the role could rewrite the journal anyway."""
    problems = serving_role_problems(owner, role)
    if problems:
        raise RoleError("Rôle de service inadapté : " + " ; ".join(problems) + ".")
    quoted = '"' + role.replace('"', '""') + '"'
    with owner.begin() as connection:
        tables = connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                         "AND tableowner = current_user")).scalars().all()
        connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
        connection.execute(text(f"REVOKE CREATE ON SCHEMA public FROM {quoted}"))
        for table in tables:
            name = '"' + table.replace('"', '""') + '"'
            connection.execute(text(f"REVOKE ALL ON TABLE {name} FROM {quoted}"))
            rights = ("SELECT" if table in READ_ONLY else "SELECT, INSERT" if table in APPEND_ONLY
                      else "SELECT, INSERT, UPDATE, DELETE")
            connection.execute(text(f"GRANT {rights} ON TABLE {name} TO {quoted}"))
        connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))
