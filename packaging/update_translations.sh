#!/usr/bin/env bash
# Refresh the Qt Linguist sources from the code, fill in the Korean table and compile the .qm.
#   packaging/update_translations.sh      (run from anywhere; uses the project's .venv)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${VENV_BIN:-$root/.venv/bin}"
cd "$root"
sources=$(ls ecg_desktop/gui/*.py ecg_desktop/gui/review/*.py | grep -v __init__)
"$bin/pyside6-lupdate" $sources -no-obsolete -ts resources/translations/ecg_desktop_ko.ts \
    -target-language ko_KR
"$bin/python" resources/translations/ko.py
"$bin/pyside6-lrelease" resources/translations/ecg_desktop_ko.ts \
    -qm resources/translations/ecg_desktop_ko.qm
