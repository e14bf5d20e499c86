"""Secrets: the AWS secret key, the webhook secret, the API tokens, the database password.

They live in the OS keyring (service ``ecg-desktop``) where a usable backend exists. Where
none does (a headless Linux box without a Secret Service), they live in ``secrets.toml`` in
the config folder, readable only by its owner (mode 0600), and a warning says so once per
load. The webhook secret and one API token are generated on first run. Environment
variables still win over stored secrets. No function here logs a secret's value.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

import keyring
import keyring.errors
import tomli_w
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail

from ecg_desktop.domain.signatures import generate_secret

from .private_files import write_private
from .settings import (
    APP_NAME,
    ENV_NAMES,
    SECRET_FIELDS,
    ConfigError,
    Settings,
    config_dir,
    load_settings,
)

log = logging.getLogger(__name__)

SERVICE = APP_NAME
SECRETS_FILE = "secrets.toml"
_FILE_MODE = 0o600


class SecretStore:
    """Read and write the app's secrets in the keyring, or in the 0600 fallback file."""

    def __init__(self, folder: Path | None = None, backend: KeyringBackend | None = None) -> None:
        self._file = (folder or config_dir()) / SECRETS_FILE
        self._keyring = backend if backend is not None else usable_keyring()
        if self._keyring is None:
            log.warning(
                "no usable OS keyring; secrets are kept in %s (readable only by you)", self._file
            )

    @property
    def location(self) -> str:
        if self._keyring is not None:
            return f"the OS keyring ({type(self._keyring).__name__})"
        return str(self._file)

    @property
    def uses_keyring(self) -> bool:
        return self._keyring is not None

    def get(self, name: str) -> str | None:
        """From the keyring, else from the file (where a refused keyring write went)."""
        _check_name(name)
        if self._keyring is not None:
            try:
                value = self._keyring.get_password(SERVICE, name)
            except keyring.errors.KeyringError as exc:
                log.warning("cannot read %s from the keyring: %s", name, exc)
            else:
                if value:
                    return value
        stored = self._read_file().get(name)
        return stored if isinstance(stored, str) else None

    def set(self, name: str, value: str) -> None:
        _check_name(name)
        if self._keyring is not None:
            try:
                self._keyring.set_password(SERVICE, name, value)
            except keyring.errors.KeyringError as exc:
                log.warning("the keyring refused %s (%s); keeping it in %s instead",
                            name, exc, self._file)
            else:
                return
        values = self._read_file()
        values[name] = value
        self._write_file(values)

    def _read_file(self) -> dict[str, object]:
        try:
            with self._file.open("rb") as fh:
                return dict(tomllib.load(fh))
        except FileNotFoundError:
            return {}
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(str(self._file), f"cannot read the secrets file: {exc}") from None

    def _write_file(self, values: Mapping[str, object]) -> None:
        write_private(self._file, tomli_w.dumps(dict(sorted(values.items()))).encode())


def usable_keyring() -> KeyringBackend | None:
    """The keyring backend, or ``None`` when it cannot store anything."""
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    try:
        backend.get_password(SERVICE, "probe")
    except (keyring.errors.KeyringError, OSError, RuntimeError) as exc:
        log.debug("keyring %s is not usable: %s", type(backend).__name__, exc)
        return None
    return backend


def _check_name(name: str) -> None:
    if name not in SECRET_FIELDS:
        raise ValueError(f"{name!r} is not a secret (one of {', '.join(sorted(SECRET_FIELDS))})")


def _split_tokens(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.replace("\n", ",").split(",") if t.strip())


def store_secret(name: str, value: str | Sequence[str], store: SecretStore | None = None) -> None:
    """Save a secret (``api_tokens`` takes a list, or a comma-separated string)."""
    if name == "api_tokens":
        tokens = _split_tokens(value) if isinstance(value, str) else tuple(value)
        value = ",".join(tokens)
    elif not isinstance(value, str):
        raise TypeError(f"{name} must be a string")
    (store or SecretStore()).set(name, value)


def regenerate_webhook_secret(store: SecretStore | None = None) -> str:
    """A new webhook secret, stored; the ML server must be given it to sign callbacks."""
    secret = generate_secret()
    (store or SecretStore()).set("webhook_secret_key", secret)
    log.info("a new webhook secret was generated")
    return secret


def load_secrets(
    env: Mapping[str, str] | None = None, store: SecretStore | None = None
) -> dict[str, str]:
    """The stored secrets, generating the webhook secret and an API token on first run
    (unless the environment provides them). ``api_tokens`` is comma-separated."""
    env = os.environ if env is None else env
    store = store or SecretStore()
    secrets = {name: value for name in SECRET_FIELDS if (value := store.get(name))}
    generated = []
    if "webhook_secret_key" not in secrets and not (
        env.get("WEBHOOK_SECRET_KEY") or env.get("SECRET_KEY")
    ):
        secrets["webhook_secret_key"] = generate_secret()
        store.set("webhook_secret_key", secrets["webhook_secret_key"])
        generated.append("a webhook secret")
    if "api_tokens" not in secrets and not env.get(ENV_NAMES["api_tokens"]):
        secrets["api_tokens"] = generate_secret()
        store.set("api_tokens", secrets["api_tokens"])
        generated.append("an API token")
    if generated:
        log.info("first run: generated %s, kept in %s", " and ".join(generated), store.location)
    return secrets


def load_settings_with_secrets(
    env: Mapping[str, str] | None = None, store: SecretStore | None = None
) -> Settings:
    """``load_settings`` plus the stored secrets; environment variables still win."""
    env = os.environ if env is None else env
    secrets = load_secrets(env, store)
    tokens = _split_tokens(secrets.pop("api_tokens", ""))
    if env.get("SECRET_KEY") and not env.get("WEBHOOK_SECRET_KEY"):
        secrets.pop("webhook_secret_key", None)  # the seed's SECRET_KEY is an env value too
    settings = load_settings(env=env, secrets=secrets)
    if not env.get(ENV_NAMES["api_tokens"]) and tokens:
        settings = settings.with_changes(api_tokens=tokens)
    return settings
