"""Chart links the GPT can share: /tv URLs carrying the plan's geometry and a signature.

The page is opened in a browser that has no bearer token, and no secret may ride in a URL; so the
link carries an HMAC (server-held key, made at start) over its symbol and expiry. It lets the page
read that one symbol's bars and stream for a day — nothing else, and no user data."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

LINK_TTL_S = 24 * 3600


class LinkSigner:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, symbol: str, exp: int) -> str:
        msg = f"{symbol.upper()}|{exp}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:32]

    def sign(self, symbol: str, ttl_s: int = LINK_TTL_S) -> tuple[int, str]:
        exp = int(time.time()) + ttl_s
        return exp, self._mac(symbol, exp)

    def verify(self, symbol: str, exp: str | int | None, sig: str | None) -> bool:
        try:
            exp_i = int(exp or 0)
        except ValueError:
            return False
        if not sig or exp_i < time.time():
            return False
        return hmac.compare_digest(self._mac(symbol, exp_i), sig)
