#!/usr/bin/env bash
# Check a built bundle the way a user's machine sees it: an empty environment (env -i), a fresh
# HOME, nothing of the checkout or its .venv, and, for the bundle's programs, a PATH with nothing
# on it (so every tool it uses must come from the bundle) and no network.
#   bash packaging/smoke.sh dist/v2m-desktop-VERSION-linux-x86_64.tar.xz
# Installs it with its install.sh under the fresh HOME, prints the version, scores the demo clip to
# an MP4 (checked with ffprobe), and has the app generate the demo clip's music and take its
# --screenshot under Xvfb; it also prints the app's launch-to-window time there. Exits non-zero on the
# first failure.
set -euo pipefail

BUNDLE="$(realpath "${1:?usage: smoke.sh BUNDLE.tar.xz}")"
[[ -f "$BUNDLE" ]] || { echo "smoke.sh: no such bundle: $BUNDLE" >&2; exit 2; }
TMP="$(mktemp -d "${TMPDIR:-/tmp}/v2m-smoke.XXXXXX")"
XVFB_PID=""
cleanup() { [[ -n "$XVFB_PID" ]] && kill "$XVFB_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "smoke: FAIL: $*" >&2; exit 1; }

H="$TMP/home"
EMPTY="$TMP/empty-path"
mkdir -p "$H" "$EMPTY" "$TMP/unpacked" "$TMP/out"
SYS_PATH=/usr/bin:/bin
# the bundle's programs: nothing on PATH, nothing inherited, and no network where a network
# namespace can be made (unshare -rn)
NONET=()
if unshare -rn true 2>/dev/null; then NONET=(unshare -rn); fi
run() { "${NONET[@]}" env -i HOME="$H" PATH="$EMPTY" LANG=C.UTF-8 "$@"; }

echo "smoke: bundle $(basename "$BUNDLE") ($(du -h "$BUNDLE" | cut -f1))"
tar -xf "$BUNDLE" -C "$TMP/unpacked"
INSTALLER="$(echo "$TMP"/unpacked/*/install.sh)"
[[ -x "$INSTALLER" ]] || fail "no install.sh in the bundle"
env -i HOME="$H" PATH="$SYS_PATH" bash "$INSTALLER" | sed 's/^/smoke: /'
BIN="$H/.local/bin"
for f in bin/v2m bin/v2m-desktop share/applications/v2m-desktop.desktop share/mime/packages/v2m-desktop.xml \
         share/icons/hicolor/256x256/apps/v2m-desktop.png share/icons/hicolor/scalable/apps/v2m-desktop.svg; do
    [[ -e "$H/.local/$f" ]] || fail "install.sh did not install ~/.local/$f"
done
grep -q "^Exec=$BIN/v2m-desktop %f$" "$H/.local/share/applications/v2m-desktop.desktop" \
    || fail "the installed desktop entry does not run $BIN/v2m-desktop"
echo "smoke: installed under a fresh HOME: $(du -sh "$H/.local/lib/v2m-desktop" | cut -f1)"

if (( ${#NONET[@]} )); then
    echo "smoke: the bundle's programs run without network (unshare -rn)"
else
    echo "smoke: the network stays reachable (unshare -rn is not permitted here)"
fi
version="$(run "$BIN/v2m" --version)" || fail "v2m --version"
app_version="$(run "$BIN/v2m-desktop" --version)" || fail "v2m-desktop --version"
echo "smoke: $version / $app_version"

start=$SECONDS
run "$BIN/v2m" demo --folder "$TMP/out/demo" > "$TMP/demo.log" 2>&1 || { cat "$TMP/demo.log" >&2; fail "v2m demo"; }
MP4="$TMP/out/demo/demo_scored.mp4"
[[ -s "$MP4" ]] || fail "v2m demo wrote no MP4"
PROBE="$(command -v ffprobe || echo "$H/.local/lib/v2m-desktop/_internal/bin/ffprobe")"
streams="$("$PROBE" -v error -show_entries stream=codec_type,codec_name -of csv=p=0 "$MP4" | sort | tr '\n' ' ')"
duration="$("$PROBE" -v error -show_entries format=duration -of csv=p=0 "$MP4")"
echo "smoke: v2m demo in $((SECONDS - start)) s: $(basename "$MP4") $duration s, streams: $streams"
[[ "$streams" == *"aac,audio"* && "$streams" == *"video"* ]] || fail "the MP4 lacks a video or an AAC stream"
awk -v d="$duration" 'BEGIN { exit !(d > 29.5 && d < 30.5) }' || fail "the MP4 lasts $duration s, not 30"

command -v Xvfb >/dev/null || fail "Xvfb is not installed (apt-get install xvfb)"
mkfifo "$TMP/display"       # Xvfb writes the number of the free display it took
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3> "$TMP/display" > "$TMP/xvfb.log" 2>&1 &
XVFB_PID=$!
read -r -t 20 display < "$TMP/display" || fail "Xvfb did not start"
launch_ms() {  # from starting the app to its main window shown (its --bench-launch line)
    local t0 line
    t0="$(date +%s%N)"
    while IFS= read -r line; do
        if [[ "$line" == window-shown ]]; then echo $(( ($(date +%s%N) - t0) / 1000000 )); fi
    done < <(run DISPLAY=":$display" "$BIN/v2m-desktop" --bench-launch 2>/dev/null)
}
first="$(launch_ms)"
second="$(launch_ms)"
[[ -n "$first" && -n "$second" ]] || fail "v2m-desktop --bench-launch showed no window"
echo "smoke: launch to window under Xvfb: ${first} ms (first run), ${second} ms (second run)"
start=$SECONDS
run DISPLAY=":$display" "$BIN/v2m-desktop" "$TMP/out/demo/demo_input.mp4" --generate --seed 1 \
    --screenshot "$TMP/out/shot.png" > "$TMP/app.log" 2>&1 || { cat "$TMP/app.log" >&2; fail "v2m-desktop --screenshot"; }
[[ -s "$TMP/out/shot.png" ]] || fail "no screenshot"
if grep -qE "No QtMultimedia backends|Failed to initialize QMediaPlayer" "$TMP/app.log"; then
    fail "the app cannot play video (Qt Multimedia's FFmpeg backend did not load)"
fi
size="$(file -b "$TMP/out/shot.png" | grep -o '[0-9]* x [0-9]*' || true)"
echo "smoke: v2m-desktop --generate --screenshot under Xvfb in $((SECONDS - start)) s: PNG $size"
[[ -n "$size" ]] || fail "the screenshot is not a PNG"
if [[ -n "${V2M_SMOKE_KEEP:-}" ]]; then cp "$TMP/out/shot.png" "$MP4" "$V2M_SMOKE_KEEP/"; fi

env -i HOME="$H" PATH="$SYS_PATH" bash "$INSTALLER" --uninstall > /dev/null
left="$(cd "$H/.local" && find bin lib share/applications share/mime/packages share/icons -name 'v2m*' 2>/dev/null | head -n 3 || true)"
[[ -z "$left" ]] || fail "install.sh --uninstall left $left"
echo "smoke: install.sh --uninstall removed it all"
echo "smoke: OK"
