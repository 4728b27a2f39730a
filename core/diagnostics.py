"""What a user pastes into a bug report: versions, settings (redacted), feed states, the database and
its schema revision, and the last log lines — with every secret scrubbed. No Qt: the window's
"Copy diagnostics" and `tradecoach diagnostics` both call `collect`/`render`.

Secrets are removed twice: settings go through `Settings.redacted()`, and every text (log lines,
feed details, errors) goes through `scrub`, which replaces the configured secret values (settings,
environment, keyring) and anything shaped like a credential (API tokens, bearer headers, key=value
query parameters, passwords in URLs)."""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import re
import sys
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import SECRET_FIELDS, Settings
from core.paths import log_file

if TYPE_CHECKING:
    from core.workstation import Workstation

log = logging.getLogger(__name__)

LOG_LINES = 200
MASK = "***"
# Distributions reported by version; read from package metadata, so nothing is imported (the window
# never imports torch).
PACKAGES = ("trading-coach-workstation", "pyside6-essentials", "pyqtgraph", "qasync", "torch", "numpy", "pandas",
            "numba", "sqlalchemy", "alembic", "fastapi", "uvicorn", "httpx", "exchange-calendars", "rich")
_CREDENTIAL_PATTERNS = (
    (re.compile(r"\btcw_[A-Za-z0-9_\-]{6,}"), "tcw_" + MASK),                          # our API tokens
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 " + MASK),           # auth headers
    (re.compile(r"\b(Basic)\s+[A-Za-z0-9+/]{12,}={0,2}"), r"\1 " + MASK),
    (re.compile(r"(?i)\b(api[_-]?key|apikey|access[_-]?token|token|secret|password|passwd|sig|signature)"
                r"(\s*[=:]\s*|\"\s*:\s*\")([^\s&\"',;]+)"), r"\1\2" + MASK),                # key=value, "key": "v"
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), r"\1" + MASK + "@"),                       # user:password@host
)


def secret_values(settings: Settings, *, keyring: bool = True) -> list[str]:
    """Every configured secret's value (settings/env/.env, then the keyring), longest first, and the
    database password: what `scrub` removes verbatim."""
    values: list[str] = []
    for name in SECRET_FIELDS:
        value = None
        try:
            value = settings.secret(name) if keyring else None
        except Exception:  # a broken keyring must not stop a diagnostics report; the failure is logged
            log.warning("diagnostics: keyring read of %s failed", name, exc_info=True)
        if value is None:
            raw = getattr(settings, name)
            value = raw.get_secret_value() if raw is not None else None
        if value:
            values.append(value)
    url = settings.database_url
    if "@" in url and "://" in url:
        creds = url.split("://", 1)[1].rsplit("@", 1)[0]
        if ":" in creds:
            values.append(creds.split(":", 1)[1])
    # Short values would mask ordinary words; a 4-character secret is not one worth the damage.
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = text.replace(value, MASK)
    for pattern, replacement in _CREDENTIAL_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def tail_lines(path: Path, n: int = LOG_LINES) -> list[str]:
    """The last n lines of a text file without reading all of it into memory."""
    if not path.exists():
        return []
    with path.open("r", encoding="utf-8", errors="replace") as f:
        return [line.rstrip("\n") for line in deque(f, maxlen=n)]


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine(),
           "frozen": "yes" if getattr(sys, "frozen", False) else "no"}
    for dist in PACKAGES:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def database_info(settings: Settings) -> dict[str, Any]:
    """Backend, redacted URL, the schema revision and the newest one. Opens the database without
    migrating it (blocking: call it off the GUI thread)."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.errors import TradeCoachError
    from core.store.engine import open_store

    info: dict[str, Any] = {"url": settings.redacted()["db_url"]}
    try:
        store = open_store(settings.database_url)
    except (TradeCoachError, SQLAlchemyError, OSError) as exc:  # reported, and logged in one line
        log.warning("diagnostics: cannot open the database: %s", exc)
        return {**info, "error": f"{type(exc).__name__}: {exc}"}
    try:
        info.update(backend=store.dialect, revision=store.current_revision(), head=store.head_revision())
    except (SQLAlchemyError, OSError) as exc:  # a server that is down: say so
        log.warning("diagnostics: cannot read the schema revision: %s", type(exc).__name__)
        info.update(backend=store.dialect, error=f"{type(exc).__name__}: {exc}")
    finally:
        store.close()
    info["current"] = info.get("revision") is not None and info.get("revision") == info.get("head")
    return info


def feed_info(kernel: Workstation | None) -> dict[str, Any]:
    if kernel is None:
        return {"running": False, "note": "the kernel is not running in this process "
                "(`tradecoach diagnostics --feeds` starts it)"}
    status = kernel.market.status()
    return {"running": True, "vendor_mode": kernel.market.vendor_mode, "status": _status(status),
            "capabilities": {cap: _status(st) for cap, st in sorted(kernel.market.health().items())}}


def _status(st: Any) -> dict[str, Any]:
    return {"source": st.source, "state": getattr(st.state, "value", str(st.state)), "detail": st.detail,
            "data_age_s": st.data_age_s}


def collect(settings: Settings, *, kernel: Workstation | None = None, log_lines: int = LOG_LINES,
            keyring: bool = True) -> dict[str, Any]:
    """The whole report as a JSON-ready dict, scrubbed. Blocking (database, log file, keyring): from
    the window, run it on the kernel's io pool."""
    secrets = secret_values(settings, keyring=keyring)
    path = log_file(settings.data_dir)
    lines = tail_lines(path, log_lines)  # first: what the report itself logs is not what the user saw
    report: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "settings": settings.redacted(),
        "feeds": feed_info(kernel),
        "database": database_info(settings),
        "log": {"path": str(path), "lines": lines},
    }
    return _scrub_tree(report, secrets)


def _scrub_tree(obj: Any, secrets: list[str]) -> Any:
    if isinstance(obj, dict):
        return {k: _scrub_tree(v, secrets) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_scrub_tree(v, secrets) for v in obj]
    if isinstance(obj, str):
        return scrub(obj, secrets)
    return obj


def render(report: dict[str, Any]) -> str:
    """Plain text for the clipboard and the terminal."""
    lines = [f"Trading Coach Workstation diagnostics, {report['generated_at']} UTC", "", "## Versions"]
    lines += [f"{k}: {v}" for k, v in report["versions"].items()]
    lines += ["", "## Feeds"]
    feeds = report["feeds"]
    if not feeds.get("running"):
        lines.append(feeds["note"])
    else:
        st = feeds["status"]
        lines.append(f"feed: {st['source']} ({st['state']}) {st['detail']}")
        lines += [f"{cap}: {s['source']} ({s['state']}) {s['detail']}" for cap, s in feeds["capabilities"].items()]
    db = report["database"]
    lines += ["", "## Database", f"url: {db['url']}"]
    if "error" in db:
        lines.append(f"error: {db['error']}")
    if "backend" in db:
        lines.append(f"backend: {db['backend']}, revision {db.get('revision')} (newest {db.get('head')})")
    lines += ["", "## Settings"]
    lines += [f"{k}: {v}" for k, v in report["settings"].items()]
    lines += ["", f"## Last {len(report['log']['lines'])} log lines ({report['log']['path']})"]
    lines += report["log"]["lines"]
    return "\n".join(lines) + "\n"
