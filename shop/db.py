"""The declarative base shared by every model, with a constraint naming convention and UTC times."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, Enum, MetaData, event, text
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# PostgreSQL's SQLSTATE for a lock wait that passed lock_timeout.
LOCK_NOT_AVAILABLE = "55P03"
# Server-side SQLSTATEs that mean "no service" rather than "your query failed": admin shutdown,
# crash shutdown, cannot connect now (starting up or in recovery), too many connections.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the zone; this restores it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use shop.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@event.listens_for(Engine, "connect")
def _enforce_sqlite_foreign_keys(dbapi_connection: object, connection_record: object) -> None:
    """SQLite ignores foreign keys (and ON DELETE CASCADE) unless asked, per connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )


class TimestampMixin:
    """created_at and updated_at, set by the database session, never by hand."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def enum_column(enum_cls: type[StrEnum]) -> Enum:
    """Store a StrEnum as its string value (VARCHAR), read it back as the enum member."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=max(len(member.value) for member in enum_cls),
        values_callable=lambda members: [member.value for member in members],
    )


def render_migration_type(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Alembic autogenerate hook: write UTCDateTime as a plain timezone-aware DateTime."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


class LockTimeout(Exception):
    """A lock was not granted within its timeout (PostgreSQL 55P03); the transaction is lost."""


def lock_timeout(session: Session, seconds: float) -> None:
    """Wait at most `seconds` for any lock in this transaction (PostgreSQL; SQLite waits for
    its single writer through its own busy timeout)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = {int(seconds * 1000)}"))


def advisory_lock(session: Session, key: str) -> None:
    """Serialise work on one thing (a subscription, an email) across workers until the
    transaction ends. PostgreSQL only: SQLite has a single writer anyway.

    Raises LockTimeout when the transaction's `lock_timeout` passes first."""
    if session.get_bind().dialect.name == "postgresql":
        try:
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
            )
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                raise LockTimeout(key) from exc
            raise


def is_database_unavailable(error: BaseException) -> bool:
    """True when `error` (or what it was raised from) means the database cannot be reached."""
    seen: BaseException | None = error
    for _ in range(5):  # a short `raise ... from` chain; never a loop without end
        if seen is None:
            return False
        if isinstance(seen, PoolTimeoutError):
            return True  # every pooled connection busy past pool_timeout: no service either
        if isinstance(seen, DBAPIError):
            if seen.connection_invalidated or _driver_error_is_unavailable(seen.orig):
                return True
        elif _driver_error_is_unavailable(seen):
            return True
        seen = seen.__cause__
    return False


def _driver_error_is_unavailable(error: BaseException | None) -> bool:
    try:
        import psycopg
    except ImportError:  # the postgres extra is not installed: SQLite cannot be "unreachable"
        return False
    if not isinstance(error, psycopg.OperationalError):
        return False
    state = error.sqlstate
    # No SQLSTATE: the client itself failed (refused, reset, closed, connect timeout).
    return state is None or state.startswith("08") or state in UNAVAILABLE_SQLSTATES
