#!/usr/bin/env bash
# The README's second command: install what is missing, build, run the whole test suite.
# Extra arguments go to ctest (e.g. -L cgroup-v2, -R loader).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
exec ctest --output-on-failure --parallel 2 "$@"
