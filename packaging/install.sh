#!/usr/bin/env bash
# Install the v2m-desktop bundle this script sits in, for the current user (no root, no Python):
#   ./install.sh              under ~/.local (PREFIX=DIR for elsewhere)
#   ./install.sh --uninstall
# The program goes to PREFIX/lib/v2m-desktop, the commands v2m-desktop and v2m to PREFIX/bin, the
# desktop entry (the menus; "Open with" for videos and .v2m projects), the icons and the .v2m MIME
# type under PREFIX/share.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${PREFIX:-$HOME/.local}"
LIB="$PREFIX/lib/v2m-desktop"
SHARE="$PREFIX/share"
SIZES=(16 24 32 48 64 128 256 512)

refresh() {  # the desktop's caches, where the tools exist
    command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$SHARE/mime" >/dev/null 2>&1 || true
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$SHARE/applications" >/dev/null 2>&1 || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" >/dev/null 2>&1 || true
}

uninstall() {
    rm -rf "$LIB"
    rm -f "$PREFIX/bin/v2m-desktop" "$PREFIX/bin/v2m" "$SHARE/applications/v2m-desktop.desktop" \
        "$SHARE/mime/packages/v2m-desktop.xml" "$SHARE/icons/hicolor/scalable/apps/v2m-desktop.svg"
    for s in "${SIZES[@]}"; do rm -f "$SHARE/icons/hicolor/${s}x${s}/apps/v2m-desktop.png"; done
    refresh
}

if [[ "${1:-}" == "--uninstall" ]]; then
    uninstall
    echo "v2m-desktop removed from $PREFIX"
    exit 0
fi
[[ -x "$HERE/v2m-desktop" && -d "$HERE/_internal" ]] || { echo "install.sh: run it from the unpacked bundle" >&2; exit 1; }

RES="$HERE/_internal/v2m_desktop/resources"
uninstall
mkdir -p "$LIB" "$PREFIX/bin" "$SHARE/applications" "$SHARE/mime/packages" "$SHARE/icons/hicolor/scalable/apps"
cp -a "$HERE/v2m-desktop" "$HERE/_internal" "$LIB/"
ln -s "$LIB/v2m-desktop" "$PREFIX/bin/v2m-desktop"
ln -s "$LIB/v2m-desktop" "$PREFIX/bin/v2m"         # the program is the command line under this name
sed -e "s|^Exec=v2m-desktop|Exec=$PREFIX/bin/v2m-desktop|" -e "s|^TryExec=v2m-desktop|TryExec=$PREFIX/bin/v2m-desktop|" \
    "$RES/v2m-desktop.desktop" > "$SHARE/applications/v2m-desktop.desktop"
cp "$RES/v2m-desktop-mime.xml" "$SHARE/mime/packages/v2m-desktop.xml"
cp "$RES/icons/v2m-desktop.svg" "$SHARE/icons/hicolor/scalable/apps/v2m-desktop.svg"
for s in "${SIZES[@]}"; do
    mkdir -p "$SHARE/icons/hicolor/${s}x${s}/apps"
    cp "$RES/icons/v2m-desktop-$s.png" "$SHARE/icons/hicolor/${s}x${s}/apps/v2m-desktop.png"
done
refresh
echo "v2m-desktop installed: $PREFIX/bin/v2m-desktop (the app) and $PREFIX/bin/v2m (the command line)"
case ":$PATH:" in *":$PREFIX/bin:"*) ;; *) echo "add $PREFIX/bin to PATH to run them by name";; esac
