"""What the API server needs beyond the kernel's settings: limits, the public (tunnel) URL, and a
clearly named test-only switch. Read from the environment once, at server start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.errors import InputError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024   # a chart screenshot is < 2 MB; 10 MB leaves room
MAX_IMAGE_PIXELS = 40_000_000         # 8K × 5K: anything larger is not a screenshot
MAX_RESPONSE_CHARS = 95_000           # ChatGPT Actions refuse bodies ≥ 100,000 characters


@dataclass(frozen=True, slots=True)
class ApiOptions:
    public_base_url: str | None = None       # https://<tunnel host>: `servers` and generated links
    rate_per_s: float = 5.0                  # per token, sustained
    burst: int = 30                          # per token, at once
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_image_pixels: int = MAX_IMAGE_PIXELS
    download_timeout_s: float = 10.0
    deadline_s: float = 40.0                 # ChatGPT's round trip is 45 s at most
    # Tests only: lets `openaiFileIdRefs` download links point at http://127.0.0.1 (a local test
    # server). Off by default; never turn it on in a deployment.
    test_only_allow_http_loopback_downloads: bool = False

    def __post_init__(self) -> None:
        if self.public_base_url is not None:
            parts = urlsplit(self.public_base_url)
            if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query:
                raise InputError("PUBLIC_BASE_URL", "must be https://host (the tunnel's URL), without a path")

    @property
    def base_url(self) -> str | None:
        return self.public_base_url.rstrip("/") if self.public_base_url else None

    @classmethod
    def from_env(cls, public_base_url: str | None = None) -> ApiOptions:
        env = os.environ
        return cls(
            public_base_url=public_base_url or env.get("PUBLIC_BASE_URL") or None,
            rate_per_s=float(env.get("TRADECOACH_API_RATE_PER_S", 5.0)),
            burst=int(env.get("TRADECOACH_API_BURST", 30)),
            max_upload_bytes=int(env.get("TRADECOACH_API_MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES)),
        )
