#!/usr/bin/env bash
# Refresh the review pane's Korean translation from the code and compile it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../../.." && pwd)"
bin="${VENV_BIN:-$root/.venv/bin}"
here="$root/ecg_desktop/gui/review/translations"
cd "$root"
"$bin/pyside6-lupdate" ecg_desktop/gui/review/*.py -no-obsolete -ts "$here/review_ko.ts" \
    -target-language ko_KR
"$bin/python" "$here/ko.py"
"$bin/pyside6-lrelease" "$here/review_ko.ts" -qm "$here/review_ko.qm"
