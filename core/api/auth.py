"""API users: bearer tokens (stored as SHA-256 only), the single-user `BACKEND_API_KEY`, and a token
bucket per user.

A GPT's Actions send no custom headers, so the token is what scopes a user's data: every token maps
to one user name, which becomes the `owner` of that user's notes, plans, predictions and jobs.
`X-User-Id` is honoured only under an admin token (a label for an operator acting for someone).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.errors import InputError
from core.store.engine import Store
from core.store.schema import ApiToken
from core.store.validation import now_utc

LOCAL_USER = "local"          # the window's own user; BACKEND_API_KEY acts as this user
TOKEN_PREFIX = "tcw_"
_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def clean_user(user: str, field: str = "user") -> str:
    if not isinstance(user, str) or not _USER_RE.match(user):
        raise InputError(field, "letters, digits, _ . @ - (at most 64), starting with a letter or digit")
    return user


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    user: str
    prefix: str
    admin: bool
    created_at: datetime
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "user": self.user, "prefix": self.prefix, "admin": self.admin,
                "created_at": self.created_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None}


def _info(r: ApiToken) -> TokenInfo:
    return TokenInfo(r.id, r.user, r.prefix, bool(r.admin), r.created_at, r.revoked_at)


class TokensRepo:
    """`python -m app tokens add|list|revoke` and the server's token check read this table."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, user: str, *, admin: bool = False) -> tuple[str, TokenInfo]:
        """A new random token for `user`; the plain token is returned once and never stored."""
        name = clean_user(user)
        if name == LOCAL_USER and not admin:
            raise InputError("user", f"{LOCAL_USER!r} is the window's own user (its token is BACKEND_API_KEY)")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(user=name, token_hash=hash_token(token), prefix=token[:10], admin=admin,
                       created_at=now_utc(), revoked_at=None)
        with self._store.session(write=True) as s:
            s.add(row)
            s.flush()
            return token, _info(row)

    def list_tokens(self, *, include_revoked: bool = False) -> list[TokenInfo]:
        q = select(ApiToken).order_by(ApiToken.id)
        if not include_revoked:
            q = q.where(ApiToken.revoked_at.is_(None))
        with self._store.session() as s:
            return [_info(r) for r in s.scalars(q)]

    def revoke(self, ident: str) -> int:
        """Revoke by token id, by the token's shown prefix, or every token of a user; returns how many."""
        with self._store.session(write=True) as s:
            q = select(ApiToken).where(ApiToken.revoked_at.is_(None))
            rows = [r for r in s.scalars(q)
                    if str(r.id) == ident or r.prefix == ident or r.user == ident]
            for r in rows:
                r.revoked_at = now_utc()
            return len(rows)

    def active_hashes(self) -> dict[str, tuple[str, bool]]:
        """token hash → (user, admin) of every active token."""
        with self._store.session() as s:
            return {r.token_hash: (r.user, bool(r.admin))
                    for r in s.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None)))}


@dataclass(frozen=True, slots=True)
class Principal:
    user: str         # owner of the data this request reads and writes
    key: str          # rate-limit bucket (one per token)
    admin: bool = False


class Authenticator:
    """Checks bearer tokens against BACKEND_API_KEY and the active stored tokens.

    Every presented token is hashed and compared with *every* known hash using
    `hmac.compare_digest` (no early exit), so timing reveals nothing about a near match.
    The token list is reloaded from the store at most every `refresh_s` (a token added or revoked
    with the CLI while the server runs takes effect within that time)."""

    def __init__(self, store: Store | None, backend_api_key: str | None, refresh_s: float = 2.0) -> None:
        self._store = store
        self._backend_hash = hash_token(backend_api_key) if backend_api_key else None
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._hashes: dict[str, tuple[str, bool]] = {}
        self._loaded_at = -1e9

    def reload(self) -> None:
        """Read the active tokens (call from an io thread; the store is blocking)."""
        hashes = TokensRepo(self._store).active_hashes() if self._store is not None else {}
        with self._lock:
            self._hashes, self._loaded_at = hashes, time.monotonic()

    def needs_reload(self) -> bool:
        return time.monotonic() - self._loaded_at >= self._refresh_s

    @property
    def configured(self) -> bool:
        """True when any token exists: then every route but /gpt/health requires one."""
        with self._lock:
            return self._backend_hash is not None or bool(self._hashes)

    def check(self, token: str) -> Principal | None:
        digest = hash_token(token)
        found: Principal | None = None
        if self._backend_hash is not None and hmac.compare_digest(digest, self._backend_hash):
            found = Principal(LOCAL_USER, "backend-key", admin=False)
        with self._lock:
            known = list(self._hashes.items())
        for h, (user, admin) in known:
            if hmac.compare_digest(digest, h) and found is None:
                found = Principal(user, "t:" + h[:16], admin)
        return found


class RateLimiter:
    """A token bucket per key: `rate` requests a second sustained, `burst` at once. Returns the
    seconds to wait (0 when the request may go ahead)."""

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise InputError("rate", "must be positive, with a burst of at least 1")
        self.rate, self.burst = float(rate), float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        now = time.monotonic()
        level, last = self._buckets.get(key, (self.burst, now))
        level = min(self.burst, level + (now - last) * self.rate)
        if level >= 1.0:
            self._buckets[key] = (level - 1.0, now)
            return 0.0
        self._buckets[key] = (level, now)
        return (1.0 - level) / self.rate
