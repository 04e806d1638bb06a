#!/usr/bin/env bash
# The README's second command: install what is missing, build, run the whole test suite.
#
# Two builds, two runs of ctest:
# - build/: gcc, the configuration that ships; every test, the VM ones included;
# - build-hardening/: clang with ASan+UBSan (-DCLIMITS_SANITIZE=ON) and the libFuzzer targets
#   (-DCLIMITS_FUZZ=ON): the same suite except the VM, package and bench tests (the VMs run the
#   binaries of build/, and the package is build/'s), plus the fuzzers (ctest -L fuzz).
# Extra arguments go to both ctest runs (e.g. -L daemon, -R loader).
# CLIMITS_HARDENING=0 skips the second build; CLIMITS_FUZZ_SECONDS (default 60) is how long
# each fuzzer runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# BUILD_TESTING=ON: a build directory the demo configured (without the tests) gets them now.
scripts/build.sh -DBUILD_TESTING=ON
status=0
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --parallel 2 "$@") || status=$?

if [ "${CLIMITS_HARDENING:-1}" != 0 ]; then
  echo "== hardening build: clang, ASan+UBSan, libFuzzer (build-hardening/)"
  BUILD_DIR=build-hardening scripts/build.sh -DBUILD_TESTING=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCLIMITS_SANITIZE=ON -DCLIMITS_FUZZ=ON \
    -DCLIMITS_FUZZ_SECONDS="${CLIMITS_FUZZ_SECONDS:-60}"
  (cd build-hardening &&
     ctest --output-on-failure --parallel 2 --label-exclude 'vm|package|systemd|bench' "$@") ||
    status=$?
fi
exit "$status"
