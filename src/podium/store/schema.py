"""The event table, declared once for Alembic and for every backend."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

events = Table(
    "podium_events",
    metadata,
    # Assigned by the single writer as max+1, so readers following positions never see a gap.
    Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("event_id", LargeBinary(16), nullable=False, unique=True),
    Column("task_id", String(200), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("timestamp", String(40), nullable=False),  # ISO 8601 UTC; sorts as text
    Column("body", Text, nullable=False),  # the whole event as JSON
    UniqueConstraint("task_id", "seq", name="uq_podium_events_task_seq"),
)

Index("ix_podium_events_task_time", events.c.task_id, events.c.timestamp)

# Alembic's bookkeeping table, named so it cannot collide with another tool in the same file.
VERSION_TABLE = "podium_alembic_version"
