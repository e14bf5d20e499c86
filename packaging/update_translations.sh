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
# English: only the plural forms ("%n file(s)" -> "1 file", "2 files"); the rest is the source.
"$bin/pyside6-lupdate" $sources -no-obsolete -pluralonly \
    -ts resources/translations/ecg_desktop_en.ts -target-language en_US
"$bin/python" resources/translations/ko.py
for lang in ko en; do
    "$bin/pyside6-lrelease" resources/translations/ecg_desktop_$lang.ts \
        -qm resources/translations/ecg_desktop_$lang.qm
done
