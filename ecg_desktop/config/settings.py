"""One settings object for every entry point.

Precedence: environment variables (the seed's names), then the user's config file
(``settings.toml`` in the platformdirs config folder), then defaults. Secrets are not in the
file: they live in the OS keyring (see ``secrets.py``), the database URL's password too
(``database_password``). ``repr`` never shows a secret.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import platformdirs
import tomli_w

from ecg_desktop.config.private_files import write_private

APP_NAME = "ecg-desktop"
LANGUAGES = ("auto", "ko", "en", "ja", "zh")


class ReadsSettings:
    """A running part that keeps the settings it was built with and reads them at each use.
    ``use_settings`` hands it new ones: those in ``bootstrap.LIVE_SETTINGS`` then apply at
    once, the others were read at start and need a restart."""

    _settings: Settings

    def use_settings(self, settings: Settings) -> None:
        self._settings = settings


class ConfigError(ValueError):
    """An invalid setting; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


def config_dir() -> Path:
    return Path(os.environ.get("ECG_CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    return Path(os.environ.get("ECG_DATA_DIR") or platformdirs.user_data_dir(APP_NAME))


def log_dir() -> Path:
    return Path(os.environ.get("ECG_LOG_DIR") or platformdirs.user_log_dir(APP_NAME))


def config_file() -> Path:
    return config_dir() / "settings.toml"


def _secret_field(default: str = "") -> Any:
    return field(default=default, repr=False)


@dataclass(frozen=True)
class Settings:
    # ML server (empty: the bundled reference analyzer)
    model_server_url: str = ""
    ml_api_timeout: float = 300.0
    ml_retry_delays: tuple[float, ...] = (5.0, 10.0)
    # The Whisper model the bundled analyzer runs for new jobs (`ecg-desktop models list`)
    whisper_model: str = "tiny.en"
    # Backend (the embedded server / `serve`)
    fastapi_base_url: str = ""  # the callback base URL given to the ML server
    bind_host: str = "127.0.0.1"
    bind_port: int = 8000
    rate_limit_per_minute: int = 5
    callback_body_limit: int = 64 * 1024 * 1024
    allow_unsigned_callbacks: bool = False
    cors_origins: tuple[str, ...] = ()
    # Storage (empty bucket: local storage)
    aws_access_key_id: str = ""
    aws_secret_access_key: str = _secret_field()
    aws_session_token: str = _secret_field()  # with temporary credentials (STS, SSO)
    aws_region: str = "ap-northeast-2"
    s3_bucket_name: str = ""
    s3_endpoint_url: str = ""
    s3_presigned_url_expire: int = 3600
    upload_part_size: int = 64 * 1024 * 1024
    upload_concurrency: int = 4
    # Job store (empty: SQLite in the data folder)
    database_url: str = field(default="", repr=False)  # may carry a password
    # Webhook signatures
    webhook_secret_key: str = _secret_field()
    # API tokens for a non-loopback bind (`Authorization: Bearer ...`), one per user
    api_tokens: tuple[str, ...] = field(default=(), repr=False)
    # A team desktop's own API token for the team backend: dispatch goes through `serve`
    team_token: str = _secret_field()
    # Pipeline
    max_parallel_uploads: int = 2
    max_parallel_dispatches: int = 4
    callback_watchdog_s: float = 600.0
    # People and UI
    user_name: str = ""
    default_language: str = "auto"
    ui_language: str = ""  # empty: follow the system locale
    # What an analyst sets: speakers of new jobs (0: detect), subtitles, where exports go
    min_speakers: int = 0
    max_speakers: int = 0
    subtitle_line_length: int = 42  # characters per subtitle line
    subtitle_lines: int = 2  # lines per cue
    subtitle_max_duration: float = 7.0  # seconds; a longer segment is split into cues
    export_folder: str = ""  # empty: the video's folder
    data_dir: Path = field(default_factory=data_dir)

    @property
    def model_server_urls(self) -> tuple[str, ...]:
        """``model_server_url`` read as a list (comma or whitespace separated): several ML
        servers share the jobs (``mlclient.pool``); empty: the bundled analyzer."""
        return split_urls(self.model_server_url)

    @property
    def uses_s3(self) -> bool:
        return bool(self.s3_bucket_name)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'jobs.db'}"

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "storage"

    @property
    def models_dir(self) -> Path:
        """Downloaded speech models (``ECG_MODELS_DIR`` overrides)."""
        return Path(os.environ.get("ECG_MODELS_DIR") or self.data_dir / "models")

    def with_changes(self, **changes: Any) -> Settings:
        updated = replace(self, **changes)
        updated.validate()
        return updated

    def validate(self) -> None:
        for url in self.model_server_urls:
            _check_url("MODEL_SERVER_URL", url)
        for name in ("fastapi_base_url", "s3_endpoint_url"):
            _check_url(ENV_NAMES.get(name, name.upper()), getattr(self, name))
        if self.database_url and "://" not in self.database_url:
            raise ConfigError("DATABASE_URL", "must be a URL like postgresql+psycopg://user@host/db")
        positive = {
            "ml_api_timeout": "ML_API_TIMEOUT",
            "s3_presigned_url_expire": "S3_PRESIGNED_URL_EXPIRE",
            "rate_limit_per_minute": "ECG_RATE_LIMIT",
            "callback_body_limit": "ECG_CALLBACK_BODY_LIMIT",
            "upload_part_size": "ECG_UPLOAD_PART_SIZE",
            "upload_concurrency": "ECG_UPLOAD_CONCURRENCY",
            "max_parallel_uploads": "ECG_MAX_PARALLEL_UPLOADS",
            "max_parallel_dispatches": "ECG_MAX_PARALLEL_DISPATCHES",
            "callback_watchdog_s": "ECG_CALLBACK_WATCHDOG",
            "subtitle_line_length": "ECG_SUBTITLE_LINE_LENGTH",
            "subtitle_lines": "ECG_SUBTITLE_LINES",
            "subtitle_max_duration": "ECG_SUBTITLE_MAX_DURATION",
        }
        for attr, variable in positive.items():
            if getattr(self, attr) <= 0:
                raise ConfigError(variable, f"must be positive, got {getattr(self, attr)}")
        if any(d < 0 for d in self.ml_retry_delays):
            raise ConfigError("ECG_ML_RETRY_DELAYS", "delays cannot be negative")
        if not 0 <= self.bind_port <= 65535:
            raise ConfigError("ECG_BIND_PORT", f"{self.bind_port} is not a port number")
        if self.upload_part_size < 5 * 1024 * 1024:
            raise ConfigError("ECG_UPLOAD_PART_SIZE", "S3 parts must be at least 5 MiB")
        for attr, variable in (("min_speakers", "ECG_MIN_SPEAKERS"),
                               ("max_speakers", "ECG_MAX_SPEAKERS")):
            if getattr(self, attr) < 0:
                raise ConfigError(variable, "cannot be negative (0: detect the number)")
        if 0 < self.max_speakers < self.min_speakers:
            raise ConfigError("ECG_MAX_SPEAKERS", "cannot be below ECG_MIN_SPEAKERS")
        if self.default_language not in LANGUAGES and len(self.default_language) != 2:
            raise ConfigError("ECG_DEFAULT_LANGUAGE", f"unknown language {self.default_language!r}")


def split_urls(text: str) -> tuple[str, ...]:
    """The URLs of a comma or whitespace separated list, in order, without repeats."""
    return tuple(dict.fromkeys(u for u in text.replace(",", " ").split() if u))


def _check_url(variable: str, value: str) -> None:
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(variable, f"{value!r} is not an http(s) URL")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ConfigError(variable, f"{value!r}: {exc}") from None


# Settings field -> environment variable. The seed's names where it had one.
ENV_NAMES: dict[str, str] = {
    "model_server_url": "MODEL_SERVER_URL",
    "ml_api_timeout": "ML_API_TIMEOUT",
    "ml_retry_delays": "ECG_ML_RETRY_DELAYS",
    "whisper_model": "ECG_WHISPER_MODEL",
    "fastapi_base_url": "FASTAPI_BASE_URL",
    "bind_host": "ECG_BIND_HOST",
    "bind_port": "ECG_BIND_PORT",
    "rate_limit_per_minute": "ECG_RATE_LIMIT",
    "callback_body_limit": "ECG_CALLBACK_BODY_LIMIT",
    "allow_unsigned_callbacks": "ECG_ALLOW_UNSIGNED_CALLBACKS",
    "cors_origins": "ECG_CORS_ORIGINS",
    "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "aws_session_token": "AWS_SESSION_TOKEN",
    "aws_region": "AWS_REGION",
    "s3_bucket_name": "S3_BUCKET_NAME",
    "s3_endpoint_url": "S3_ENDPOINT_URL",
    "s3_presigned_url_expire": "S3_PRESIGNED_URL_EXPIRE",
    "upload_part_size": "ECG_UPLOAD_PART_SIZE",
    "upload_concurrency": "ECG_UPLOAD_CONCURRENCY",
    "database_url": "DATABASE_URL",
    "webhook_secret_key": "WEBHOOK_SECRET_KEY",
    "api_tokens": "ECG_API_TOKENS",
    "team_token": "ECG_TEAM_TOKEN",
    "max_parallel_uploads": "ECG_MAX_PARALLEL_UPLOADS",
    "max_parallel_dispatches": "ECG_MAX_PARALLEL_DISPATCHES",
    "callback_watchdog_s": "ECG_CALLBACK_WATCHDOG",
    "user_name": "ECG_USER",
    "default_language": "ECG_DEFAULT_LANGUAGE",
    "ui_language": "ECG_UI_LANGUAGE",
    "min_speakers": "ECG_MIN_SPEAKERS",
    "max_speakers": "ECG_MAX_SPEAKERS",
    "subtitle_line_length": "ECG_SUBTITLE_LINE_LENGTH",
    "subtitle_lines": "ECG_SUBTITLE_LINES",
    "subtitle_max_duration": "ECG_SUBTITLE_MAX_DURATION",
    "export_folder": "ECG_EXPORT_FOLDER",
    "data_dir": "ECG_DATA_DIR",
}
SECRET_FIELDS = frozenset(
    {"aws_secret_access_key", "aws_session_token", "webhook_secret_key", "api_tokens",
     "team_token", "database_password"}  # database_password: the URL's, kept apart from it
)
_FIELD_TYPES = {f.name: f.type for f in fields(Settings)}


def _convert(name: str, variable: str, value: Any) -> Any:
    kind = str(_FIELD_TYPES[name])
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in ("1", "0", "true", "false", "yes", "no", "on", "off", ""):
                raise ValueError(f"{value!r} is not a yes/no value")
            return text in ("1", "true", "yes", "on")
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind.startswith("tuple"):
            items = value if isinstance(value, list | tuple) else str(value).split(",")
            cast = float if "float" in kind else str
            return tuple(cast(str(i).strip()) for i in items if str(i).strip())
        if kind == "Path":
            return Path(str(value)).expanduser()
        return str(value)
    except ValueError as exc:
        raise ConfigError(variable, str(exc)) from None


def read_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read the config file: {exc}") from None


def load_settings(
    env: Mapping[str, str] | None = None,
    file_values: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> Settings:
    """Environment over the config file over ``secrets`` (the keyring) over defaults."""
    env = os.environ if env is None else env
    if file_values is None:
        file_values = read_config_file(config_file())
    values: dict[str, Any] = {}
    for name, variable in ENV_NAMES.items():
        if variable in env and env[variable] != "":
            values[name] = _convert(name, variable, env[variable])
        elif name in file_values and name not in SECRET_FIELDS:
            values[name] = _convert(name, f"{config_file()}: {name}", file_values[name])
        elif secrets and secrets.get(name):
            values[name] = secrets[name]
    if "webhook_secret_key" not in values and env.get("SECRET_KEY"):
        values["webhook_secret_key"] = env["SECRET_KEY"]
    from_file = not env.get(ENV_NAMES["database_url"])  # the password saved with the file's URL
    if from_file and secrets and secrets.get("database_password") and values.get("database_url"):
        values["database_url"] = with_database_password(values["database_url"],
                                                        secrets["database_password"])
    settings = Settings(**values)
    settings.validate()
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Persist the non-secret settings that differ from the defaults (``tomli_w``; the file
    is 0600 from its creation, replaced atomically). A password in the database URL never
    goes into the file: saving the user's own config file keeps it in the secret store
    (``database_password``); another ``path`` (a preview) just leaves it out."""
    own_file = path is None or path == config_file()
    path = path or config_file()
    defaults = Settings(data_dir=settings.data_dir)
    values: dict[str, Any] = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.name in SECRET_FIELDS or value is None or value == getattr(defaults, f.name):
            continue  # TOML has no null: an unset value is the default
        if f.name == "database_url":
            value, password = split_database_password(value)
            if password and own_file:
                from ecg_desktop.config.secrets import store_secret  # secrets imports this

                store_secret("database_password", password)
        values[f.name] = _toml_value(value)
    write_private(path, tomli_w.dumps(values).encode())


def _toml_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_toml_value(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


_PASSWORD_PARAMETER = "password"


def split_database_password(url: str) -> tuple[str, str]:
    """``url`` without its password (in ``user:password@`` or a ``password=`` parameter),
    and the password ("" when there is none)."""
    if not url or "://" not in url:
        return url, ""
    parts = urlsplit(url)
    password = unquote(parts.password or "")
    netloc = parts.netloc
    if parts.password is not None:
        credentials, _, host = netloc.rpartition("@")
        netloc = credentials.partition(":")[0] + "@" + host
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if k != _PASSWORD_PARAMETER]
    password = password or next((v for k, v in query if k == _PASSWORD_PARAMETER), "")
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(kept))), password


def with_database_password(url: str, password: str) -> str:
    """``url`` carrying ``password`` (kept from ``split_database_password``), unless it
    already carries one."""
    if not url or not password or split_database_password(url)[1]:
        return url
    parts = urlsplit(url)
    if parts.username is not None:
        credentials, _, host = parts.netloc.rpartition("@")
        return urlunsplit(parts._replace(netloc=f"{credentials}:{quote(password, safe='')}@{host}"))
    query = [*parse_qsl(parts.query, keep_blank_values=True), (_PASSWORD_PARAMETER, password)]
    return urlunsplit(parts._replace(query=urlencode(query)))
