#!/usr/bin/env bash
# Runs the test suite several times in a row on a loaded machine, to catch tests that depend
# on timing (the suite must not: it waits for conditions, and bounds no wall-clock time).
#
#   scripts/loaded-test.sh [-n RUNS] [-b BUILD_DIR] [-- EXTRA CTEST ARGS...]
#
# In an existing build directory (default: build/, as scripts/build.sh makes it), while
# `stress-ng --cpu 2` keeps two cores busy, runs RUNS times (default 3)
#   ctest --output-on-failure --parallel 2 --label-exclude 'vm|package|systemd|bench|fuzz'
# plus the extra arguments (e.g. -- -L daemon, -- -R backoff). Stops at the first failing run
# and says which; stress-ng is stopped however the script ends. Needs stress-ng
# (scripts/install-deps.sh installs it).
set -euo pipefail

usage() {
  sed -n '5s/^#   /usage: /p' "$0" >&2
  exit 2
}

runs=3
build_dir="$(cd "$(dirname "$0")/.." && pwd)/build"
while getopts ":n:b:h" option; do
  case "$option" in
    n) runs="$OPTARG" ;;
    b) build_dir="$OPTARG" ;;
    h) usage ;;
    :) echo "loaded-test: -$OPTARG needs a value" >&2; usage ;;
    *) echo "loaded-test: unknown option -$OPTARG" >&2; usage ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
extra=("$@")

if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "loaded-test: -n wants a positive number of runs, not \"$runs\"" >&2
  exit 2
fi
if [ ! -f "$build_dir/CTestTestfile.cmake" ]; then
  echo "loaded-test: $build_dir is not a configured build directory (run scripts/build.sh," \
       "or give one with -b)" >&2
  exit 2
fi
if ! command -v stress-ng >/dev/null; then
  echo "loaded-test: stress-ng is missing (scripts/install-deps.sh installs it)" >&2
  exit 2
fi

stress_pid=""
stop_stress() {
  if [ -n "$stress_pid" ]; then
    # stress-ng ends its workers when it gets SIGTERM.
    kill -TERM "$stress_pid" 2>/dev/null || true
    wait "$stress_pid" 2>/dev/null || true
    stress_pid=""
  fi
}
trap stop_stress EXIT
trap 'stop_stress; exit 130' INT
trap 'stop_stress; exit 143' TERM

stress-ng --cpu 2 --quiet &
stress_pid=$!
sleep 1  # give it a moment to fail (e.g. an unknown option), then check it runs
if ! kill -0 "$stress_pid" 2>/dev/null; then
  wait "$stress_pid" || true
  stress_pid=""
  echo "loaded-test: stress-ng did not start" >&2
  exit 2
fi
echo "loaded-test: stress-ng --cpu 2 running (pid $stress_pid); $runs runs in $build_dir"

cd "$build_dir"
for ((run = 1; run <= runs; run++)); do
  echo "== loaded-test: run $run of $runs"
  status=0
  ctest --output-on-failure --parallel 2 --label-exclude 'vm|package|systemd|bench|fuzz' \
    "${extra[@]}" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "loaded-test: run $run of $runs FAILED (ctest exit $status)" >&2
    exit "$status"
  fi
done
echo "loaded-test: all $runs runs passed under load"
