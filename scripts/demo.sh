#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the demo: `v2m demo`. Extra arguments go to `v2m demo`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo "==> Running the demo (v2m demo $*)"
exec .venv/bin/v2m demo "$@"
