from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from pydantic import ValidationError

from core.config import load_settings, settings_file
from core.secrets import SecretStore


def test_seed_variable_names_are_recognised(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", "pk-123")
    monkeypatch.setenv("TRADIER_SANDBOX_TOKEN", "tt-456")
    monkeypatch.setenv("TRADIER_SANDBOX_ACCOUNT", "VA000")
    monkeypatch.setenv("DB_URL", "postgresql+psycopg://trader:hunter2@127.0.0.1:5432/tc")
    monkeypatch.setenv("SESSION_TIMEZONE", "America/Chicago")
    monkeypatch.setenv("ENABLE_SCHEDULED_COLLECTION", "true")
    monkeypatch.setenv("MLP_HIDDENS", "256,256,128")
    monkeypatch.setenv("NUM_LSTM_LAYERS", "3")
    s = load_settings()
    assert s.secret("polygon_api_key") == "pk-123" and s.secret("tradier_sandbox_token") == "tt-456"
    assert s.tradier_sandbox_account == "VA000" and s.session_timezone == "America/Chicago"
    assert s.enable_scheduled_collection and s.mlp_hiddens == "256,256,128" and s.num_lstm_layers == 3
    assert s.database_url.endswith("@127.0.0.1:5432/tc")
    assert s.data_dir == isolated_dirs / "data"


def test_secrets_never_appear_in_repr_logs_or_redacted(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", "pk-secret-value")
    monkeypatch.setenv("DB_URL", "postgresql+psycopg://trader:hunter2@db/tc")
    s = load_settings()
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("settings %s %r", s.redacted(), s)
    text = caplog.text + repr(s) + json.dumps(s.redacted())
    assert "pk-secret-value" not in text and "hunter2" not in text
    assert s.redacted()["polygon_api_key"] == "set"


def test_default_db_is_sqlite_in_the_data_dir(isolated_dirs: Path) -> None:
    s = load_settings()
    assert s.database_url.startswith("sqlite") and s.database_url.endswith(f"{isolated_dirs}/data/tradecoach.db")


def test_settings_file_and_validation(isolated_dirs: Path) -> None:
    s = load_settings()
    s.save_user_settings(default_symbol="aapl", replay_speed=60)
    assert json.loads(settings_file().read_text())["replay_speed"] == 60
    again = load_settings()
    assert again.default_symbol == "AAPL" and again.replay_speed == 60
    with pytest.raises(ValidationError, match="replay_speed"):
        load_settings(replay_speed=0)
    with pytest.raises(ValueError, match="polygon_api_key"):
        s.save_user_settings(polygon_api_key="x")


def test_secret_file_fallback_is_0600(isolated_dirs: Path) -> None:
    store = SecretStore(isolated_dirs / "config", use_keyring=False)
    store.set("finnhub_api_key", "fh-1")
    path = isolated_dirs / "config" / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.get("finnhub_api_key") == "fh-1"
    path.chmod(0o644)                          # someone loosened it: reading tightens it again
    assert store.get("finnhub_api_key") == "fh-1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store.delete("finnhub_api_key")
    assert store.get("finnhub_api_key") is None
    with pytest.raises(ValueError, match="finnhub_api_key"):
        store.set("finnhub_api_key", "")


def test_settings_read_secrets_from_the_store(isolated_dirs: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())   # a machine with no keyring at all
    try:
        assert SecretStore(isolated_dirs / "config").backend.startswith("file")
        SecretStore(isolated_dirs / "config").set("backend_api_key", "bk-9")
        s = load_settings()
        assert s.backend_api_key is None                    # not in env or settings …
        assert s.secret("backend_api_key") == "bk-9"        # … but found in the 0600 fallback
    finally:
        keyring.set_keyring(previous)
