"""Settings and secrets."""

from .settings import (
    ENV_NAMES,
    LANGUAGES,
    ConfigError,
    ReadsSettings,
    Settings,
    config_dir,
    config_file,
    data_dir,
    load_settings,
    log_dir,
    save_settings,
)

__all__ = [
    "ENV_NAMES",
    "LANGUAGES",
    "ConfigError",
    "ReadsSettings",
    "Settings",
    "config_dir",
    "config_file",
    "data_dir",
    "load_settings",
    "log_dir",
    "save_settings",
]
