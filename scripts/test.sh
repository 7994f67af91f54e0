#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run every check: the tests (pytest), the linter (ruff), the type
# checker (mypy, on the core) and the import contracts (import-linter: the core never imports Qt,
# the runtime never imports the lab, the layers). Exits non-zero if any check fails; all checks run either way. Extra arguments go to
# pytest.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh

failed=()

echo "==> Tests (pytest)"
rc=0
# one pytest worker a core (pytest-xdist), a test module's tests on one worker, so a module's
# fixtures (a scored clip, a Ray cluster) are made once: 571 s -> 335 s on the 2-core machine
QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -q --durations=15 -n auto --dist loadscope "$@" || rc=$?
if (( rc == 5 )); then
    echo "test.sh: pytest collected no tests" >&2
fi
(( rc == 0 )) || failed+=("pytest (exit $rc)")

echo "==> Lint (ruff)"
rc=0
.venv/bin/ruff check . || rc=$?
(( rc == 0 )) || failed+=("ruff (exit $rc)")

echo "==> Types (mypy on v2m_desktop/core)"
rc=0
.venv/bin/mypy || rc=$?
(( rc == 0 )) || failed+=("mypy (exit $rc)")

echo "==> Import contracts (import-linter)"
rc=0
.venv/bin/lint-imports || rc=$?
(( rc == 0 )) || failed+=("lint-imports (exit $rc)")

if (( ${#failed[@]} > 0 )); then
    echo "test.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "==> All checks passed"
