"""Engines and sessions for SQLite + SpatiaLite (embedded default) and PostgreSQL + PostGIS."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import orjson
import pyproj  # noqa: F401  (before SpatiaLite: see below)
from geoalchemy2 import load_spatialite
from psycopg.rows import namedtuple_row
from sqlalchemy import JSON, Connection, Engine, Executable, Table, create_engine, event, text
from sqlalchemy.engine import Compiled, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

os.environ.setdefault("SPATIALITE_LIBRARY_PATH", "mod_spatialite")
# pyproj's wheel brings its own PROJ, SpatiaLite links Debian's: two copies of PROJ's C++ library in one process.
# Loaded after SpatiaLite's, pyproj's copy has both destroy the same static objects at exit (« free(): invalid
# pointer », exit status 134 after a successful run); loaded first, as above, both work and the process ends
# cleanly (tests/test_reliability.py runs both orders in a fresh interpreter).


class DatabaseUnavailable(RuntimeError):
    """The database or its spatial extension cannot be used; the message says what to install."""


def sqlite_module() -> ModuleType:
    """A DB-API sqlite module able to load extensions (the standard one, else pysqlite3 built from source)."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        from pysqlite3 import dbapi2  # type: ignore[import-not-found]
    except ImportError:
        raise DatabaseUnavailable(
            "Ce Python ne peut pas charger d'extension SQLite (SpatiaLite) : utilisez /usr/bin/python3 "
            "(Debian) ou installez pysqlite3 compilé localement : "
            "pip install --no-binary pysqlite3 pysqlite3"
        ) from None
    return dbapi2


def _sqlite_on_connect(dbapi_conn, record) -> None:
    try:
        load_spatialite(dbapi_conn, record, init_mode="WGS84")
    except Exception as exc:  # the driver's error types vary between sqlite3 and pysqlite3
        raise DatabaseUnavailable(
            f"SpatiaLite introuvable ({exc}) : installez le paquet Debian libsqlite3-mod-spatialite"
        ) from exc
    # Unicode lower case (SQLite's lower() knows ASCII only): CQL2's CASEI, as PostgreSQL's lower() does it.
    dbapi_conn.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.close()


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


#: Execution option of a connection whose transaction will write (``BEGIN IMMEDIATE`` on SQLite).
WRITE_INTENT = "registry_write_intent"


def load_json(text: str | bytes) -> object:
    """Decode a stored JSON value: orjson (a tenth of ``json.loads``'s time; the public search decodes a dozen
    list columns per venue), the standard decoder for what orjson refuses (NaN, integers beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def text_columns(table: Table) -> Table:
    """``table`` with its JSON columns as text, for bulk writes of rows whose JSON is already encoded."""
    from sqlalchemy import Column, MetaData, Text

    return Table(table.name, MetaData(), *(Column(c.name, Text() if isinstance(c.type, JSON) else c.type)
                                           for c in table.columns))


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite connections get SpatiaLite (WGS84 only) and sane pragmas."""
    parsed = make_url(url)
    kwargs.setdefault("json_deserializer", load_json)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, module=sqlite_module(), **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        # pysqlite's own transaction handling would defer BEGIN; let SQLAlchemy emit it.
        event.listen(engine, "connect", _disable_pysqlite_autobegin)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # Short queries: parallel workers cost more to start (several ms) than they save here. Storage is SSD:
        # with the default random_page_cost (4, for spinning disks) the planner reads every venue rather than use
        # the (commune, status) index for a département (23 ms instead of 3.7 ms on 100,000 venues). No JIT: it
        # compiled a search whose estimate was high (14 ms of compiling for a page of 20 at 1,000,000 venues).
        options = {"options": "-c max_parallel_workers_per_gather=0 -c random_page_cost=1.1 -c jit=off",
                   "connect_timeout": kwargs.pop("connect_timeout", 10)}
        engine = create_engine(url, connect_args=options, **kwargs)
        _ping_when_idle(engine)
        event.listen(engine, "do_execute", _execute_unprepared)
        return engine
    raise DatabaseUnavailable(f"Base non prise en charge : {parsed.get_backend_name()} (sqlite ou postgresql)")


#: A pooled PostgreSQL connection idle longer than this (seconds) is pinged before use: a restarted or
#: failed-over server left it dead. One used more recently is trusted, so that under load no request pays a
#: ping's round trip (``pool_pre_ping`` pinged at every checkout: a third of a bbox search's time in the
#: database). Should one die within that second, its request answers 503 « réessayez » and the pool renews it.
PING_IDLE_SECONDS = 1.0


#: The execution option of a statement whose best plan depends on its values (a CQL2 filter's ``LIKE '12%'``):
#: psycopg prepares a statement run five times, and PostgreSQL may then keep a generic plan, blind to the
#: values; for a postcode prefix it walked every name rather than the postcode range (49 pages a second instead
#: of 187). Such statements are sent unprepared: planned for their values each time.
UNPREPARED = "registry_unprepared"


#: Statements ``fetch_rows`` compiled for PostgreSQL (by identity, each kept alive with its entry so that no other
#: statement takes its id): (statement, SQL, compiled, its bind processors, unprepared), ``None`` for a statement the
#: driver cannot run as compiled (expanding parameters).
_COMPILED: dict[int, tuple[Executable, str, Compiled, dict[str, Callable], bool] | None] = {}
_COMPILED_KEPT = 512


def fetch_rows(connection: Connection, statement: Executable, params: dict[str, Any]) -> Sequence[Any]:
    """``connection.execute(statement, params).all()``, its rows named tuples on PostgreSQL (attributes and
    positions as a ``Row``'s). There the driver runs the statement, compiled once: a public page's rows went through
    SQLAlchemy's result machinery at a quarter of the page's cost (0.7 ms of 2.8 for a page of 50). Everything else
    SQLAlchemy does is kept: its cursor events (``before_cursor_execute``, ``after_cursor_execute``), its errors
    (``DBAPIError``, a lost connection invalidated) and ``UNPREPARED``. For the statements public search runs
    (bound values only); any other falls back to SQLAlchemy."""
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, params).all()
    compiled = _COMPILED.get(id(statement), False)
    if compiled is False:
        compiled = _compile_for_driver(connection, statement)
    if compiled is None:
        return connection.execute(statement, params).all()
    _statement, sql, form, processors, unprepared = compiled
    values = form.construct_params(params)
    for name, process in processors.items():
        values[name] = process(values[name])
    driver = connection.connection.driver_connection
    cursor = driver.cursor(row_factory=namedtuple_row)
    try:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, values, None, False)
        cursor.execute(sql, values, prepare=False if unprepared else None)
        connection.dispatch.after_cursor_execute(connection, cursor, sql, values, None, False)
        return cursor.fetchall()
    except connection.dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy raises it, the connection invalidated
        lost = connection.dialect.is_disconnect(exc, driver, cursor)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, values, exc, connection.dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost) from exc
    finally:
        cursor.close()


def _compile_for_driver(connection: Connection, statement: Executable):
    form = statement.compile(dialect=connection.dialect)
    if form.post_compile_params or form.literal_execute_params:
        found = None
    else:
        processors = {}
        for bind, name in form.bind_names.items():
            process = bind.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
            if process is not None:
                processors[name] = process
        found = (statement, str(form), form, processors,
                 bool(statement.get_execution_options().get(UNPREPARED)))
    if len(_COMPILED) >= _COMPILED_KEPT:
        _COMPILED.clear()
    _COMPILED[id(statement)] = found
    return found


def _execute_unprepared(cursor, statement, parameters, context) -> bool | None:
    if context is not None and context.execution_options.get(UNPREPARED):
        cursor.execute(statement, parameters, prepare=False)
        return True
    return None


def _ping_when_idle(engine: Engine) -> None:
    def mark(_dbapi_conn, record, *_args) -> None:
        record.info["idle_since"] = time.monotonic()

    def check(dbapi_conn, record, _proxy) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) <= PING_IDLE_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("connexion fermée par le serveur") from exc
        if not alive:
            raise DisconnectionError("connexion fermée par le serveur")

    event.listen(engine, "connect", mark)
    event.listen(engine, "checkin", mark)
    event.listen(engine, "checkout", check)


def _sqlite_begin(conn) -> None:
    # A transaction that will write takes SQLite's write lock at once (waiting up to busy_timeout): begun as a
    # reader, it could not become a writer once another write committed ("database is locked" at once).
    immediate = conn.get_execution_options().get(WRITE_INTENT, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _disable_pysqlite_autobegin(dbapi_conn, record) -> None:
    dbapi_conn.isolation_level = None


def is_sqlite(bind) -> bool:
    """True when the session, connection or engine talks to SQLite."""
    return bind.dialect.name == "sqlite"


#: The engine options of public reads on PostgreSQL (``Database.read_engine``).
READS = {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None}


class Database:
    """The engines and session factories of one application (primary and optional read replica)."""

    #: A replica further behind than this (seconds) serves no public read: the primary does, until it catches up.
    MAX_REPLICA_LAG = 30.0
    #: How long a replica's health (reachable, not lagging) is trusted before being checked again.
    REPLICA_CHECK_SECONDS = 2.0

    def __init__(self, url: str, read_url: str | None = None, journal_key: bytes | None = None) -> None:
        self.engine = make_engine(url)
        info = {"journal_key": journal_key} if journal_key else {}
        self.replica = bool(read_url) and not is_sqlite(self.engine)
        if is_sqlite(self.engine):  # reads are in-process: no round trips to save
            self.read_engine = make_engine(read_url) if read_url else self.engine
        else:
            # Public reads on PostgreSQL run in autocommit on their own pool: no BEGIN and ROLLBACK round trips
            # around each request (under READ COMMITTED every statement takes its own snapshot anyway), and no
            # reset when a connection goes back to the pool (no transaction is ever left open to roll back).
            self.read_engine = make_engine(read_url or url, **READS, **({"connect_timeout": 2} if read_url else {}))
        self.Session = sessionmaker(self.engine, expire_on_commit=False, info=info)
        self.WriteSession = sessionmaker(self.engine.execution_options(**{WRITE_INTENT: True}),
                                         expire_on_commit=False, info=info)
        self.ReadSession = sessionmaker(self.read_engine, expire_on_commit=False)
        if self.replica:
            self.fallback_engine = make_engine(url, **READS)
            self.FallbackSession = sessionmaker(self.fallback_engine, expire_on_commit=False)
        self._replica_ok, self._checked_until = True, 0.0
        #: The primary's WAL positions at each check (time, position) the replica has not replayed yet.
        self._primary_positions: deque[tuple[float, int]] = deque(maxlen=10_000)
        self._positions_lock = threading.Lock()

    def read_session(self) -> Session:
        """A session for public reads: on the replica while it answers and keeps up, else on the primary, so a
        replica that lags or has gone away never makes the public search fail."""
        if not self.replica or self.replica_usable():
            return self.ReadSession()
        return self.FallbackSession()

    def replica_usable(self) -> bool:
        """Whether the replica answers, streams WAL from the primary (a WAL receiver runs) and is not stale: when
        it has not replayed the primary's current WAL position, its data is as old as the last transaction it
        replayed, and as the first check that saw the position it still misses; beyond ``MAX_REPLICA_LAG`` seconds
        it serves nothing (checked at most every ``REPLICA_CHECK_SECONDS``). Measured against the primary, so a
        standby whose stream broke, which has replayed all it received, is stale all the same."""
        now = time.monotonic()
        if now < self._checked_until:
            return self._replica_ok
        try:
            with self.fallback_engine.connect() as primary:
                position = primary.execute(text("SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint")).scalar()
            with self.read_engine.connect() as connection:
                standby, replayed, receiving, replayed_age = connection.execute(text(
                    "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, "
                    "EXISTS (SELECT 1 FROM pg_stat_wal_receiver), "
                    "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())")).one()
            with self._positions_lock:
                staleness = self._staleness(now, position, replayed, replayed_age)
            usable = not standby or (receiving and staleness <= self.MAX_REPLICA_LAG)
        except SQLAlchemyError:
            usable = False
        self._replica_ok, self._checked_until = usable, now + self.REPLICA_CHECK_SECONDS
        return usable

    def _staleness(self, now: float, position: int, replayed: int | None, replayed_age) -> float:
        """How old the replica's data is at least (seconds): 0 when it has replayed the primary's ``position``."""
        if replayed is not None and replayed >= position:
            self._primary_positions.clear()
            return 0.0
        self._primary_positions.append((now, position))
        while self._primary_positions and replayed is not None and self._primary_positions[0][1] <= replayed:
            self._primary_positions.popleft()
        seen = now - self._primary_positions[0][0] if self._primary_positions else 0.0
        return max(seen, float(replayed_age or 0.0))

    def write_session(self) -> Session:
        """A session whose transactions take the write lock when they begin (SQLite; no-op on PostgreSQL)."""
        return self.WriteSession()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session closed at the end of the block (commit is the caller's or the service's)."""
        with self.Session() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
        if self.replica:
            self.fallback_engine.dispose()


def bulk_insert(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert many rows fast: ``COPY`` on PostgreSQL, one ``executemany`` on SQLite. Rows share their keys."""
    if not rows:
        return
    if is_sqlite(session.get_bind()):
        session.execute(table.insert(), rows)
        return
    import psycopg
    from psycopg.types.json import Json, Jsonb

    columns = list(rows[0])
    wrappers = {name: Jsonb if table.c[name].type.dialect_impl(session.get_bind().dialect).__visit_name__ == "JSONB"
                else Json for name in columns if isinstance(table.c[name].type, JSON)}
    cursor = session.connection().connection.driver_connection.cursor()
    names = ", ".join(f'"{name}"' for name in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    try:
        with cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([wrappers[name](row[name]) if name in wrappers else row[name] for name in columns])
    except psycopg.errors.IntegrityError as exc:  # raised by the driver itself: give callers SQLAlchemy's types
        raise IntegrityError(statement, None, exc) from exc
    except psycopg.errors.OperationalError as exc:
        raise OperationalError(statement, None, exc) from exc


def refresh_statistics(session: Session, table: Table) -> None:
    """``ANALYZE`` a table that bulk writes made grow (PostgreSQL; SQLite's planner needs nothing here)."""
    if not is_sqlite(session.get_bind()):
        session.execute(text(f'ANALYZE "{table.name}"'))
        session.commit()


def is_busy(error: BaseException) -> bool:
    """The database refused a write because of another one, and nothing was written: the transaction can be
    replayed. SQLite: its single writer is busy (stale read snapshot, or the lock outlived the busy timeout);
    PostgreSQL: deadlock or serialization failure."""
    if not isinstance(error, OperationalError):
        return False
    return "database is locked" in str(error.orig) or getattr(error.orig, "sqlstate", None) in ("40001", "40P01")
