#!/usr/bin/env bash
# Set up (scripts/setup.sh), score a demo clip with the command line (`v2m demo`: a synthetic clip
# with known cuts -> v2m-demo/demo_scored.mp4), then open the clip in the desktop app and generate
# its music there. Without a display, it says so and stops after the command-line demo.
# Extra arguments go to `v2m demo`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo "==> Running the command-line demo (v2m demo $*)"
.venv/bin/v2m demo "$@"

folder="v2m-demo"
for ((i = 1; i <= $#; i++)); do
    if [[ "${!i}" == "--folder" ]]; then j=$((i + 1)); folder="${!j}"; fi
    if [[ "${!i}" == --folder=* ]]; then folder="${!i#--folder=}"; fi
done
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
    echo "==> No display (DISPLAY and WAYLAND_DISPLAY are unset): not opening the desktop app."
    echo "    The scored demo is in $folder/demo_scored.mp4; on a desktop, run:"
    echo "    .venv/bin/v2m-desktop $folder/demo_input.mp4 --generate"
    exit 0
fi
echo "==> Opening the demo clip in the desktop app (v2m-desktop $folder/demo_input.mp4 --generate)"
exec .venv/bin/v2m-desktop "$folder/demo_input.mp4" --generate
