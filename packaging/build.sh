#!/usr/bin/env bash
# Build the one-folder app with PyInstaller and check it the way CI does:
#   packaging/build.sh            -> dist/ecg-desktop/ (run dist/ecg-desktop/ecg-desktop)
# The checks run the bundle with an empty environment (no Python, no virtualenv on PATH):
# `--version`, then `gui --self-check` offscreen (window + store + embedded server + analyzer).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${VENV_BIN:-$root/.venv/bin}"
cd "$root"
"$bin/pyside6-lrelease" resources/translations/ecg_desktop_ko.ts \
    -qm resources/translations/ecg_desktop_ko.qm >/dev/null
"$bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$root/dist" --workpath "$root/build/pyinstaller" packaging/ecg-desktop.spec
app="$root/dist/ecg-desktop/ecg-desktop"
echo "bundle: $(du -sh "$root/dist/ecg-desktop" | cut -f1) in dist/ecg-desktop/"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
bare=(env -i "HOME=$scratch" "PATH=/usr/bin:/bin" "QT_QPA_PLATFORM=offscreen"
      "XDG_RUNTIME_DIR=$scratch" "LANG=C.UTF-8")
"${bare[@]}" "$app" --version
"${bare[@]}" "$app" gui --self-check
echo "packaging checks passed"
