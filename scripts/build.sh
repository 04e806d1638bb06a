#!/usr/bin/env bash
# Configures and builds into build/ (or $BUILD_DIR) with every core. Arguments go to the
# configure step (-DNAME=VALUE); BUILD_TARGETS="a b" builds only those targets.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
targets=()
# Word splitting of the list is meant: one target per word.
# shellcheck disable=SC2206
[ -z "${BUILD_TARGETS:-}" ] || targets=(--target ${BUILD_TARGETS})
cmake --build "$build_dir" --parallel "$(nproc)" "${targets[@]}"
