# Shared by scripts/test and scripts/run (sourced, not run): make .venv and install the app.

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
