"""Settings from (highest first) explicit values, the environment, `.env`, and the settings file
in the user config dir. Variable names follow the seed backends (POLYGON_API_KEY, DB_URL, …) so an
existing `.env` keeps working. Secrets are `SecretStr` (masked in repr and logs) and may also come
from the OS keyring (see core.secrets)."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, JsonConfigSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from core.paths import APP_NAME, config_dir

log = logging.getLogger(__name__)

SECRET_FIELDS = ("polygon_api_key", "tradier_sandbox_token", "tradier_token", "finnhub_api_key",
                 "backend_api_key")


def settings_file() -> Path:
    return config_dir() / "settings.json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      case_sensitive=False, populate_by_name=True)

    # -- where things live --------------------------------------------------------------------
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)),
                           validation_alias=AliasChoices("TRADECOACH_DATA_DIR", "data_dir"))
    # SecretStr: a PostgreSQL URL carries its password.
    db_url: SecretStr | None = Field(default=None, validation_alias=AliasChoices("DB_URL", "DATABASE_URL", "db_url"))

    # -- data feed ----------------------------------------------------------------------------
    feed: Literal["replay", "auto"] = Field(default="replay", validation_alias=AliasChoices("TRADECOACH_FEED", "feed"))
    replay_speed: float = Field(default=1.0, gt=0, le=1000,
                                validation_alias=AliasChoices("TRADECOACH_REPLAY_SPEED", "replay_speed"))
    replay_session: date | None = Field(default=None,
                                        validation_alias=AliasChoices("TRADECOACH_REPLAY_SESSION", "replay_session"))
    replay_start_minutes: int = Field(default=45, ge=0, le=24 * 60,
                                      validation_alias=AliasChoices("TRADECOACH_REPLAY_START_MINUTES",
                                                                    "replay_start_minutes"))
    default_symbol: str = "SPY"
    default_interval: str = "1m"
    symbols: list[str] = Field(default_factory=lambda: ["SPY", "AAPL", "IBM", "BAC", "AIG", "GOOG", "SPX", "ES"])

    # -- vendor keys (seed names) ---------------------------------------------------------------
    polygon_api_key: SecretStr | None = None
    polygon_base_url: str = "https://api.polygon.io"
    polygon_ws_url: str = "wss://socket.polygon.io"
    polygon_calls_per_minute: int = Field(default=5, ge=1)   # the free tier; raise it on a paid plan
    yahoo_base_url: str = "https://query2.finance.yahoo.com"
    finnhub_base_url: str = "https://finnhub.io/api/v1"
    tradier_sandbox_token: SecretStr | None = None
    tradier_token: SecretStr | None = None
    tradier_sandbox_account: str | None = None
    tradier_base_url: str = "https://sandbox.tradier.com"
    finnhub_api_key: SecretStr | None = None
    backend_api_key: SecretStr | None = None
    public_base_url: str | None = None

    # -- session and collection (seed names) ----------------------------------------------------
    session_timezone: str = "America/New_York"
    session_start_time: str = "09:30"
    session_end_time: str = "16:00"
    enable_scheduled_collection: bool = False
    enable_session_candle_capture: bool = False
    enable_polygon_websocket: bool = True

    # -- predictor hyper-parameters (seed names) ----------------------------------------------
    batch_size: int = Field(default=64, ge=1)
    learning_rate: float = Field(default=1e-4, gt=0)
    num_epochs: int = Field(default=200, ge=1)
    num_lstm_layers: int = Field(default=2, ge=1)
    lstm_hidden_size: int = Field(default=128, ge=1)
    mlp_hiddens: str = "256,128"
    cnn_trainable_param_groups: int = Field(default=10, ge=0)
    backbone: Literal["resnet18", "efficientnet_b0", "small"] = "small"

    # -- UI -------------------------------------------------------------------------------------
    theme: Literal["dark", "light"] = "dark"

    @field_validator("default_symbol")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = settings_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        if path.exists():
            sources.append(JsonConfigSettingsSource(settings_cls, json_file=path))
        return tuple(sources)

    # -- derived --------------------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        if self.db_url is not None and self.db_url.get_secret_value():
            return self.db_url.get_secret_value()
        from core.store.engine import sqlite_url

        return sqlite_url(self.data_dir / "tradecoach.db")

    def secret(self, name: str) -> str | None:
        """A secret from the settings/env, else from the OS keyring or its 0600 file fallback."""
        if name not in SECRET_FIELDS:
            raise KeyError(name)
        value: SecretStr | None = getattr(self, name)
        if value is not None and value.get_secret_value():
            return value.get_secret_value()
        from core.secrets import SecretStore

        return SecretStore(config_dir()).get(name)

    def redacted(self) -> dict[str, Any]:
        """Settings safe to log: secrets replayed as set/unset only, DB password masked."""
        out = json.loads(self.model_dump_json())
        for name in SECRET_FIELDS:
            out[name] = "set" if getattr(self, name) is not None else None
        url = self.database_url
        out["db_url"] = url
        if "@" in url:
            scheme, rest = url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            out["db_url"] = f"{scheme}://{user}:***@{host}"
        return out

    def save_user_settings(self, **changes: Any) -> Path:
        """Persist non-secret changes to the settings file (secrets go to the keyring)."""
        bad = [k for k in changes if k in SECRET_FIELDS]
        if bad:
            raise ValueError(f"{bad[0]}: secrets are stored with core.secrets.SecretStore, not in settings.json")
        path = settings_file()
        current = json.loads(path.read_text()) if path.exists() else {}
        current.update({k: (v.isoformat() if isinstance(v, date) else v) for k, v in changes.items()})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(current, indent=2, default=str))
        tmp.replace(path)
        return path


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
