#!/usr/bin/env bash
# Set up v2m-desktop on a fresh Debian/Ubuntu machine. Safe to run again: it only installs
# what is missing.
#   - system packages (FluidSynth, PortAudio, FFmpeg, Xvfb, Qt's libraries) with apt-get;
#     set V2M_SKIP_APT=1 to skip this step
#   - a virtual environment in .venv (Python >= 3.11)
#   - torch==2.13.0, then this project with its dev tools and Ray (`pip install -e '.[dev,cluster]'`)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
VENV="$ROOT/.venv"

stage() { printf '==> %s\n' "$*"; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

# ---- Python --------------------------------------------------------------------------------------
py_ok() {  # is "$1" a Python >= 3.11?
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

find_python() {
    local cand
    for cand in python3.11 python3 python3.13 python3.12; do
        if command -v "$cand" >/dev/null 2>&1 && py_ok "$cand"; then
            command -v "$cand"
            return 0
        fi
    done
    return 1
}

venv_works() {  # can "$1" create a virtual environment with pip in it?
    local tmp rc=0
    tmp="$(mktemp -d)"
    "$1" -m venv "$tmp/venv" >/dev/null 2>&1 || rc=1
    rm -rf "$tmp"
    return "$rc"
}

# ---- system packages -----------------------------------------------------------------------------
APT_PACKAGES=(
    libfluidsynth3  # synthesis (pyfluidsynth)
    musescore-general-soundfont-small   # the default SoundFont, MuseScore General (MIT, .sf3)
    libportaudio2   # playback (sounddevice)
    ffmpeg          # video decoding and export
    xvfb            # a virtual display for the app's tests
    espeak-ng       # real speech at known times for the ducking tests
    # Qt (PySide6) on the offscreen and xcb platforms
    libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libdbus-1-3 libfontconfig1
    libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1
    libxcb-randr0 libxcb-xinerama0
)

if [[ "${V2M_SKIP_APT:-0}" == "1" ]]; then
    stage "Skipping system packages (V2M_SKIP_APT=1)"
else
    stage "Checking system packages"
    command -v apt-get >/dev/null 2>&1 \
        || die "apt-get not found: install the system packages by hand (${APT_PACKAGES[*]}) and run again with V2M_SKIP_APT=1"

    wanted=("${APT_PACKAGES[@]}")
    if [[ ! -x "$VENV/bin/python" ]]; then
        PY="$(find_python || true)"
        if [[ -z "$PY" ]]; then
            wanted+=(python3 python3-venv python3-dev)
        elif ! venv_works "$PY"; then
            wanted+=(python3-venv python3-dev)
        fi
    fi

    missing=()
    for pkg in "${wanted[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
            missing+=("$pkg")
        fi
    done

    if (( ${#missing[@]} == 0 )); then
        stage "System packages already installed"
    else
        SUDO=()
        if [[ "$(id -u)" != "0" ]]; then
            command -v sudo >/dev/null 2>&1 \
                || die "not root and no sudo: install ${missing[*]} by hand and run again with V2M_SKIP_APT=1"
            SUDO=(sudo)
        fi
        stage "Installing system packages: ${missing[*]}"
        "${SUDO[@]}" apt-get update -qq
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}"
    fi
fi

# ---- virtual environment -------------------------------------------------------------------------
if [[ -x "$VENV/bin/python" ]] && py_ok "$VENV/bin/python"; then
    stage "Using the virtual environment in .venv ($("$VENV/bin/python" -V 2>&1))"
else
    [[ -e "$VENV" ]] && die ".venv exists but holds no Python >= 3.11: remove it and run again"
    PY="$(find_python)" \
        || die "Python >= 3.11 not found: install python3.11 (with its venv module) and run again"
    stage "Creating the virtual environment in .venv with $PY ($("$PY" -V 2>&1))"
    "$PY" -m venv "$VENV" \
        || die "'$PY -m venv' failed: install the python3-venv package (or run without V2M_SKIP_APT=1)"
fi

PIP=("$VENV/bin/python" -m pip)

# ---- Python packages -----------------------------------------------------------------------------
# The install is skipped when pyproject.toml has not changed since the last successful one.
STAMP="$VENV/.v2m-setup-stamp"
want_stamp="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" && -x "$VENV/bin/v2m" ]] \
    && "$VENV/bin/python" -c 'import torch, v2m_desktop' >/dev/null 2>&1; then
    stage "Python packages up to date"
else
    stage "Installing torch==2.13.0"
    "${PIP[@]}" install torch==2.13.0 \
        || die "could not install torch==2.13.0 (see README.md: 'Installing PyTorch')"
    stage "Installing v2m-desktop, its dev tools and the cluster extra (pip install -e '.[dev,cluster]')"
    "${PIP[@]}" install -e '.[dev,cluster]'
    printf '%s\n' "$want_stamp" > "$STAMP"
fi

stage "Set-up done: $("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__)')"
