# Shared by the scripts (sourced, not run): system packages, .venv and the app's install.

# Qt's X11/EGL libraries, which the PySide6 wheels need on a minimal Debian.
QT_RUNTIME_PACKAGES=(
    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
    libxkbcommon-x11-0 libxcb-xinerama0 libegl1 libgl1 libfontconfig1 libdbus-1-3
)

# install_apt_packages MODE PACKAGE...: apt-get install the packages that are missing (none
# missing: no apt-get at all). MODE "strict" fails when it cannot install; "lenient" warns.
install_apt_packages() {
    local mode="$1" missing=() package level=warning
    shift
    [[ "$mode" == strict ]] && level=error
    if ! command -v dpkg-query >/dev/null; then
        echo "warning: not a Debian system; make sure these (or equivalents) are installed: $*" >&2
        return 0
    fi
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$package")
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if ! command -v sudo >/dev/null; then
            echo "$level: run as root to install: ${missing[*]}" >&2
            [[ "$mode" == strict ]] && return 1
            return 0
        fi
        sudo=(sudo)
    fi
    echo "==> apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q "${missing[@]}"; }; then
        echo "$level: could not install ${missing[*]}" >&2
        [[ "$mode" == strict ]] && return 1
    fi
    return 0
}

# A Python >= 3.11: $PYTHON if set, else the first suitable one on PATH.
find_python() {
    local candidate
    for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

# ensure_venv EXTRA: create .venv if missing and `pip install -e .[EXTRA]` when pyproject.toml
# changed since the last install (a stamp in .venv remembers), so repeated runs start fast.
ensure_venv() {
    local extra="$1" python spec stamp wanted
    if [[ ! -x .venv/bin/python ]]; then
        python="$(find_python)"
        echo "==> creating .venv with $python ($("$python" --version 2>&1))"
        if ! "$python" -m venv .venv; then
            # Debian's own python3 needs python3-venv for ensurepip.
            if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
                DEBIAN_FRONTEND=noninteractive apt-get update -q
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv </dev/null
                rm -rf .venv
                "$python" -m venv .venv
            else
                return 1
            fi
        fi
    fi
    spec="."
    [[ -n "$extra" ]] && spec=".[$extra]"
    stamp=".venv/.ecg-desktop-installed"
    wanted="$extra $(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [[ -f "$stamp" ]] && { [[ "$(cat "$stamp")" == "$wanted" ]] ||
        { [[ -z "$extra" ]] && [[ "$(cut -d' ' -f2 "$stamp")" == "${wanted#* }" ]]; }; }; then
        return 0
    fi
    echo "==> pip install -e '$spec'"
    .venv/bin/python -m pip install --progress-bar off -e "$spec"
    echo "$wanted" >"$stamp"
}
