"""Fetching a file ChatGPT hands over as `openaiFileIdRefs[].download_link`: https only, no private,
loopback or link-local address (checked at every redirect hop), size-capped while streaming, a few
seconds at most. The bytes are sniffed by `core.images.load_image` afterwards, not trusted by name."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import httpx

from core.api.errors import ApiError
from core.errors import InputError

MAX_REDIRECTS = 3


async def _public_host(host: str, port: int, allow_loopback: bool) -> None:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise InputError("openaiFileIdRefs", f"cannot resolve {host}") from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if allow_loopback and ip.is_loopback:
            continue
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast \
                or ip.is_unspecified:
            raise InputError("openaiFileIdRefs", f"download link points at a private address ({host})")


def _check_url(url: str, allow_http_loopback: bool) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return host, parts.port or 443
    if allow_http_loopback and parts.scheme == "http" and host == "127.0.0.1":
        return host, parts.port or 80
    raise InputError("openaiFileIdRefs", "download_link must be an https URL")


async def download(url: str, *, max_bytes: int, timeout_s: float, allow_http_loopback: bool = False) -> bytes:
    """The file's bytes; 413 once more than `max_bytes` arrive (the rest is never read)."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=timeout_s, trust_env=False) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            host, port = _check_url(url, allow_http_loopback)
            await _public_host(host, port, allow_http_loopback)
            try:
                async with client.stream("GET", url) as resp:
                    if resp.is_redirect:
                        url = urljoin(url, resp.headers.get("location", ""))
                        continue
                    if resp.status_code != 200:
                        raise InputError("openaiFileIdRefs", f"download failed (HTTP {resp.status_code})")
                    declared = resp.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise ApiError(413, "file", f"too large ({int(declared):,} bytes, limit {max_bytes:,})")
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in resp.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise ApiError(413, "file", f"too large (over {max_bytes:,} bytes)")
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.HTTPError as exc:
                raise InputError("openaiFileIdRefs", f"download failed ({type(exc).__name__})") from exc
        raise InputError("openaiFileIdRefs", f"more than {MAX_REDIRECTS} redirects")
