"""API keys in the OS keyring, with a 0600 JSON file fallback where no keyring exists
(headless Linux, CI). Values never go to logs; errors name the key, never the value."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import keyring
import keyring.errors

log = logging.getLogger(__name__)

SERVICE = "tradecoach"
FALLBACK_NAME = "secrets.json"


def _keyring_usable() -> bool:
    backend = keyring.get_keyring()
    # The "fail" and "null" backends mean no real keyring is present.
    mod = type(backend).__module__
    return not (mod.startswith("keyring.backends.fail") or mod.startswith("keyring.backends.null")) and \
        getattr(backend, "priority", 1) > 0


class SecretStore:
    def __init__(self, config_dir: Path, *, use_keyring: bool | None = None) -> None:
        self._file = config_dir / FALLBACK_NAME
        self._use_keyring = _keyring_usable() if use_keyring is None else use_keyring

    @property
    def backend(self) -> str:
        return "keyring" if self._use_keyring else f"file:{self._file}"

    def get(self, name: str) -> str | None:
        if self._use_keyring:
            try:
                return keyring.get_password(SERVICE, name)
            except keyring.errors.KeyringError:
                log.warning("keyring read of %s failed; using the file fallback", name, exc_info=True)
        return self._read_file().get(name)

    def set(self, name: str, value: str) -> None:
        if not value:
            raise ValueError(f"{name}: empty secret")
        if self._use_keyring:
            try:
                keyring.set_password(SERVICE, name, value)
                return
            except keyring.errors.KeyringError:
                log.warning("keyring write of %s failed; using the file fallback", name, exc_info=True)
        data = self._read_file()
        data[name] = value
        self._write_file(data)

    def delete(self, name: str) -> None:
        if self._use_keyring:
            try:
                keyring.delete_password(SERVICE, name)
            except keyring.errors.PasswordDeleteError:
                log.debug("no keyring entry for %s", name)
        data = self._read_file()
        if data.pop(name, None) is not None:
            self._write_file(data)

    def _read_file(self) -> dict[str, str]:
        if not self._file.exists():
            return {}
        mode = self._file.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("%s is readable by others (mode %o); tightening to 0600", self._file, mode)
            os.chmod(self._file, 0o600)
        return json.loads(self._file.read_text())

    def _write_file(self, data: dict[str, str]) -> None:
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, self._file)
