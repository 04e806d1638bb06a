#!/usr/bin/env bash
# The README's first command: install what the demo needs, build it, run the demo.
# Only the binaries (climits-manager, climits-ctl, the helper climits-exec) and the demo's
# leaky are built, with only their packages: the test suite and what it needs (doctest, qemu,
# clang, lintian, …) are the second command's, scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --demo
# A fresh build directory is configured without the test suite, whose packages may be
# missing; one configured already keeps its settings (scripts/test.sh turns the tests on).
configure=()
[ -f build/CMakeCache.txt ] || configure+=(-DBUILD_TESTING=OFF)
BUILD_TARGETS="climits-manager climits-ctl climits-exec leaky" scripts/build.sh "${configure[@]}"
build/climits-manager --check -c configs/demo.yaml
echo "Running the demo: leaky allocates 4 MiB every 100 ms under a 60M limit. Ctrl-C stops it."
exec build/climits-manager -c configs/demo.yaml
