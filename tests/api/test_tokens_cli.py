"""`python -m app tokens add|list|revoke`: the token is printed once and stored only as a hash."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", "tokens", *args], cwd=REPO, capture_output=True,
                          text=True, env=dict(os.environ), timeout=60)


@pytest.mark.slow
def test_tokens_cli_add_list_revoke(isolated_dirs: Path) -> None:
    add = _cli("add", "alice")
    assert add.returncode == 0, add.stderr
    token = add.stdout.strip()
    assert token.startswith("tcw_") and len(token) > 40 and "shown once" in add.stderr
    listed = _cli("list")
    assert "alice" in listed.stdout and token[:10] in listed.stdout and token not in listed.stdout
    db = next((isolated_dirs / "data").glob("*.db"))
    with sqlite3.connect(db) as conn:
        stored = [r[0] for r in conn.execute("SELECT token_hash FROM api_tokens")]
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64
    assert _cli("add", "local").returncode == 2            # the window's own user has BACKEND_API_KEY
    assert _cli("add", "bad name!").returncode == 2
    rev = _cli("revoke", "alice")
    assert rev.returncode == 0 and "revoked 1" in rev.stdout
    assert "alice" not in _cli("list").stdout
    assert _cli("revoke", "alice").returncode == 1
