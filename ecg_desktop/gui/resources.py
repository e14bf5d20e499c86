"""Where the icons and translations are: the source tree's ``resources/`` or, in a
PyInstaller bundle, the ``resources`` folder next to the bundled package."""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources")
    candidates += [_PACKAGE_DIR / "resources", _PACKAGE_DIR.parent / "resources"]
    for candidate in candidates:
        if (candidate / "icons").is_dir():
            return candidate
    return candidates[-1]


def icon_path(name: str = "ecg-desktop.svg") -> Path:
    return resources_dir() / "icons" / name


def translations_dir() -> Path:
    return resources_dir() / "translations"
