"""Settings as a service: what is in force (secrets shown as set/unset only) and validated changes
persisted to settings.json; keys go to the OS keyring (0600 file fallback), never to the file."""

from __future__ import annotations

from pydantic import ValidationError

from core.config import SECRET_FIELDS, Settings
from core.errors import InputError
from core.runtime import KernelRuntime


class SettingsService:
    def __init__(self, settings: Settings, runtime: KernelRuntime) -> None:
        self._settings, self._rt = settings, runtime

    @property
    def current(self) -> Settings:
        return self._settings

    def redacted(self) -> dict[str, object]:
        return self._settings.redacted()

    async def update(self, **changes: object) -> dict[str, object]:
        """Validate every change against the settings model first: a bad value is refused with its
        field named and nothing is written. Takes effect at the next start for feed/DB changes."""
        unknown = [k for k in changes if k not in Settings.model_fields]
        if unknown:
            raise InputError(unknown[0], "is not a setting")
        secrets = [k for k in changes if k in SECRET_FIELDS]
        if secrets:
            raise InputError(secrets[0], "keys are stored in the keyring (set_secret), not in settings")
        try:
            checked = Settings.model_validate({**self._settings.model_dump(), **changes})
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err.get("loc", ())) or "settings"
            raise InputError(field, err.get("msg", "invalid value")) from exc
        clean = {k: getattr(checked, k) for k in changes}
        await self._rt.run_io(lambda: self._settings.save_user_settings(**clean))
        for k, v in clean.items():
            setattr(self._settings, k, v)
        return self.redacted()

    async def set_secret(self, name: str, value: str) -> str:
        """Store a key in the OS keyring (or the 0600 file); returns which backend holds it."""
        if name not in SECRET_FIELDS:
            raise InputError("name", f"must be one of {', '.join(sorted(SECRET_FIELDS))}")
        if not value or not value.strip():
            raise InputError("value", "is empty")
        from core.config import config_dir
        from core.secrets import SecretStore

        store = SecretStore(config_dir())
        await self._rt.run_io(store.set, name, value.strip())
        return store.backend
