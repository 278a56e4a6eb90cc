"""API keys: who may call the server, for which tenant, with which scopes.

A key reads ``pod_<key id>_<secret>``. Only the sha256 of the whole key is stored (in the
Podium database, table ``podium_api_keys``); the key itself is shown once, when created. Keys
are long random strings, so a fast hash is enough: there is nothing to guess.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from podium.store import prepare_database

READ, WRITE, ADMIN = "tasks:read", "tasks:write", "admin"
SCOPES = (READ, WRITE, ADMIN)
# Without keys the server answers anyone who reaches it: it listens on these addresses only.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_KEY_PATTERN = re.compile(r"pod_([0-9a-f]{16})_([A-Za-z0-9_-]{20,100})")
_TENANT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    tenant: str
    scopes: frozenset[str]
    created_at: str
    revoked_at: str | None = None


@dataclass(frozen=True)
class Principal:
    """Who is calling. ``tenant`` None means every tenant: only when no keys are configured,
    which the server allows on loopback only (or when told so explicitly)."""

    key_id: str | None
    tenant: str | None
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or ADMIN in self.scopes


LOCAL = Principal(key_id=None, tenant=None, scopes=frozenset(SCOPES))


def validate_scopes(scopes: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(scopes)
    unknown = sorted(chosen - set(SCOPES))
    if unknown or not chosen:
        raise ValueError(f"scopes must be one or more of {', '.join(SCOPES)}; got "
                         f"{', '.join(unknown) or 'none'}")
    return chosen


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class KeyStore:
    """The key table in the Podium database. Thread-safe (one connection per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        prepare_database(path)  # creates or migrates the table
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = sqlite3.connect(self.path, isolation_level=None,
                                                      check_same_thread=False, timeout=30)
        return conn

    def create(self, *, name: str, tenant: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
        """A new key; returns it and its secret text, which is not stored and cannot be shown
        again. ValueError names a bad tenant or scope."""
        if not _TENANT_PATTERN.fullmatch(tenant):
            raise ValueError(f"tenant {tenant!r} must be 1-100 letters, digits, '.', '_' or '-',"
                             " starting with a letter or digit")
        chosen = validate_scopes(scopes)
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        text = f"pod_{key_id}_{secret}"
        key = ApiKey(key_id=key_id, name=name, tenant=tenant, scopes=chosen, created_at=_now())
        self._conn().execute(
            "INSERT INTO podium_api_keys (key_id, name, tenant, scopes, secret_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key_id, name, tenant, " ".join(sorted(chosen)), _hash(text), key.created_at))
        return key, text

    def list(self) -> list[ApiKey]:
        rows = self._conn().execute(
            "SELECT key_id, name, tenant, scopes, created_at, revoked_at FROM podium_api_keys"
            " ORDER BY created_at, key_id").fetchall()
        return [_key(row) for row in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke the key (KeyError if there is none with this id); revoking twice is a no-op."""
        conn = self._conn()
        conn.execute("UPDATE podium_api_keys SET revoked_at = ? WHERE key_id = ? AND "
                     "revoked_at IS NULL", (_now(), key_id))
        row = conn.execute("SELECT key_id, name, tenant, scopes, created_at, revoked_at FROM "
                           "podium_api_keys WHERE key_id = ?", (key_id,)).fetchone()
        if row is None:
            raise KeyError(f"no API key with id {key_id!r}")
        return _key(row)

    def any_active(self) -> bool:
        return self._conn().execute(
            "SELECT 1 FROM podium_api_keys WHERE revoked_at IS NULL LIMIT 1").fetchone() is not None

    def verify(self, presented: str) -> Principal | None:
        """The principal of an active key, or None for anything else."""
        match = _KEY_PATTERN.fullmatch(presented)
        if match is None:
            return None
        row = self._conn().execute(
            "SELECT tenant, scopes, secret_hash FROM podium_api_keys WHERE key_id = ? AND "
            "revoked_at IS NULL", (match[1],)).fetchone()
        if row is None or not hmac.compare_digest(row[2], _hash(presented)):
            return None
        return Principal(key_id=match[1], tenant=row[0], scopes=frozenset(row[1].split()))


def _key(row: tuple[str, str, str, str, str, str | None]) -> ApiKey:
    return ApiKey(key_id=row[0], name=row[1], tenant=row[2], scopes=frozenset(row[3].split()),
                  created_at=row[4], revoked_at=row[5])
