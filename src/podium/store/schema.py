"""The event table, declared once for Alembic and for every backend."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# SQLite's largest INTEGER, so the bound of every seq and position a reader may ask about.
MAX_INTEGER = 2**63 - 1

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
# One row per task (seq 1 is its TASK_CREATED): lists tasks without scanning every event.
Index("ix_podium_events_task_heads", events.c.position, sqlite_where=text("seq = 1"),
      postgresql_where=text("seq = 1"))

# API keys: only a hash of each secret is kept; `key_id` is the key's public prefix.
api_keys = Table(
    "podium_api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("tenant", String(200), nullable=False),
    Column("scopes", String(200), nullable=False),  # space-separated
    Column("secret_hash", String(64), nullable=False),  # sha256 hex of the whole key
    Column("created_at", String(40), nullable=False),
    Column("revoked_at", String(40), nullable=True),
)

# Processes that run workflows; the worker id is the DBOS executor id (workflows/workers.py).
workers = Table(
    "podium_workers",
    metadata,
    Column("worker_id", String(200), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),  # 0 once released
)

# Alembic's bookkeeping table, named so it cannot collide with another tool in the same file.
VERSION_TABLE = "podium_alembic_version"
