"""A keyring backend for tests: a JSON file, never the user's real keyring.

Selected with ``PYTHON_KEYRING_BACKEND=tests.services.keyring_backend.FileKeyring``; the file
is named by ``ECG_TEST_KEYRING_FILE`` (each test gets its own under ``tmp_path``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

FILE_VARIABLE = "ECG_TEST_KEYRING_FILE"
BACKEND_NAME = f"{__name__}.FileKeyring"


class FileKeyring(KeyringBackend):
    priority = 0.5  # only ever chosen explicitly, by PYTHON_KEYRING_BACKEND

    @property
    def path(self) -> Path:
        default = Path(tempfile.gettempdir()) / f"ecg-test-keyring-{os.getpid()}.json"
        return Path(os.environ.get(FILE_VARIABLE) or default)

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            data: dict[str, dict[str, str]] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data

    def _save(self, data: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(self.path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data.setdefault(service, {})[username] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if username not in data.get(service, {}):
            raise PasswordDeleteError(f"no password for {username!r} in {service!r}")
        del data[service][username]
        self._save(data)
