#!/usr/bin/env bash
# Build the self-contained Linux bundle, from a checkout after the README's set-up (.venv):
#   bash packaging/build-linux.sh
# PyInstaller (one folder, packaging/v2m-desktop.spec) with the CPU build of torch, the shipped
# models, the default SoundFont, FluidSynth and PortAudio (from the system: libfluidsynth3,
# libportaudio2), ffmpeg (imageio-ffmpeg's) and ffprobe (a static build from the npm package
# @ffprobe-installer/linux-x64, or V2M_FFPROBE=PATH; without npm the probe reads `ffmpeg -i`).
# Packed as dist/v2m-desktop-VERSION-linux-x86_64.tar.xz with install.sh (V2M_BUNDLE_COMPRESS=gzip:
# .tar.gz, larger but quicker to make; no AppImage: its runtime is not to be had from a package
# registry, see packaging/README.md). The last line printed is the bundle's path.
#   V2M_BUILD_PYTHON=PATH   the Python whose packages go in the bundle (default .venv/bin/python);
#                           PyInstaller is installed into it when missing
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
PY="${V2M_BUILD_PYTHON:-$ROOT/.venv/bin/python}"
WORK="$ROOT/build/bundle"
FFPROBE_NPM="@ffprobe-installer/linux-x64@5.2.0"

stage() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-linux.sh: error: %s\n' "$*" >&2; exit 1; }

[[ -x "$PY" ]] || die "no Python at $PY: run scripts/setup.sh first (or set V2M_BUILD_PYTHON)"
"$PY" -c 'import torch, PySide6, v2m_desktop' 2>/dev/null \
    || die "$PY lacks torch, PySide6 or v2m-desktop: run scripts/setup.sh first"
"$PY" -c 'import torch, sys; sys.exit(0 if torch.version.cuda is None else 1)' \
    || die "$PY has a CUDA build of torch; the bundle wants the CPU one (README: 'Installing PyTorch')"
if ! "$PY" -m PyInstaller --version >/dev/null 2>&1; then
    stage "Installing PyInstaller into $("$PY" -c 'import sys; print(sys.prefix)')"
    "$PY" -m pip install -q pyinstaller pyinstaller-hooks-contrib
fi
VERSION="$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import v2m_desktop; print(v2m_desktop.__version__)' "$ROOT")"
NAME="v2m-desktop-$VERSION-linux-$(uname -m)"
mkdir -p "$WORK"
case "${V2M_BUNDLE_COMPRESS:-xz}" in    # xz: 375 MB and minutes; gzip: 505 MB and quick
    xz) EXT=xz; COMPRESS=(xz -T2 -6) ;;
    gzip) EXT=gz; COMPRESS=(gzip -6) ;;
    *) die "V2M_BUNDLE_COMPRESS is xz or gzip" ;;
esac

if [[ -z "${V2M_FFPROBE:-}" ]]; then
    if [[ -x "$WORK/ffprobe/package/ffprobe" ]]; then
        export V2M_FFPROBE="$WORK/ffprobe/package/ffprobe"
    elif command -v npm >/dev/null 2>&1; then
        stage "Fetching ffprobe ($FFPROBE_NPM)"
        rm -rf "$WORK/ffprobe" && mkdir -p "$WORK/ffprobe"
        tarball="$(cd "$WORK/ffprobe" && npm pack --silent "$FFPROBE_NPM" | tail -n 1)"
        tar -xzf "$WORK/ffprobe/$tarball" -C "$WORK/ffprobe"
        chmod +x "$WORK/ffprobe/package/ffprobe"
        export V2M_FFPROBE="$WORK/ffprobe/package/ffprobe"
    else
        stage "No npm and no V2M_FFPROBE: the bundle ships no ffprobe (the probe falls back to ffmpeg -i)"
    fi
fi

stage "PyInstaller (log: $WORK/pyinstaller.log)"
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$WORK/dist" --workpath "$WORK/work" \
    packaging/v2m-desktop.spec > "$WORK/pyinstaller.log" 2>&1 \
    || { tail -n 40 "$WORK/pyinstaller.log" >&2; die "PyInstaller failed"; }

# torch's and Python's own libraries ship with their symbol tables (-110 MB without them); strip
# only these: stripping the libraries auditwheel patched (numpy's OpenBLAS) breaks them
if command -v strip >/dev/null 2>&1; then
    for f in "$WORK/dist/v2m-desktop/_internal/"{torch/lib/libtorch_cpu.so,torch/lib/libtorch_python.so,libpython3*.so*}; do
        if [[ -f "$f" ]]; then strip --strip-unneeded "$f"; fi
    done
fi

stage "Packing $NAME"
STAGE="$WORK/stage/$NAME"
rm -rf "$WORK/stage" && mkdir -p "$STAGE"
cp -a "$WORK/dist/v2m-desktop/." "$STAGE/"
ln -s v2m-desktop "$STAGE/v2m"               # the command line: the same program under that name
cp packaging/install.sh "$STAGE/install.sh"
chmod +x "$STAGE/install.sh"
"$STAGE/v2m" --version >/dev/null || die "the bundle does not start"
mkdir -p dist
rm -f "dist/$NAME".tar.*
OUT="$ROOT/dist/$NAME.tar.$EXT"
tar -C "$WORK/stage" -cf - "$NAME" | "${COMPRESS[@]}" > "$OUT.part"
mv "$OUT.part" "$OUT"
stage "Bundle: $(du -sh "$STAGE" | cut -f1) unpacked, $(du -sh "$OUT" | cut -f1) packed"
echo "$OUT"
