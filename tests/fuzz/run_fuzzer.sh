#!/usr/bin/env bash
# Runs one libFuzzer target for ctest (tests/fuzz/CMakeLists.txt); exits non-zero on any crash,
# sanitizer report, leak, timeout or out-of-memory, as libFuzzer does.
#
#   run_fuzzer.sh fuzz   FUZZER WORK_DIR SEED_DIR REGRESSION_DIR [libFuzzer flags...]
#     Fuzzes over a fresh copy of the seeds and regressions in WORK_DIR/corpus (new inputs go
#     there, never into the source tree); what it finds lands in WORK_DIR/artifacts.
#   run_fuzzer.sh replay FUZZER WORK_DIR SEED_DIR REGRESSION_DIR [libFuzzer flags...]
#     Runs every seed and every regression input once, by name.
set -euo pipefail

mode=$1
fuzzer=$(realpath "$2") work=$(realpath -m "$3")
seeds=$(realpath -m "$4") regressions=$(realpath -m "$5")
shift 5

inputs() { find "$seeds" "$regressions" -type f ! -name '*.md' 2>/dev/null | sort; }

case $mode in
  fuzz)
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    inputs | while read -r file; do cp "$file" "$work/corpus/"; done
    status=0
    "$fuzzer" -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" || status=$?
    if [ "$status" -ne 0 ]; then
      echo "run_fuzzer: $(basename "$fuzzer") failed (exit $status); the input is in $work/artifacts/:" >&2
      ls -l "$work/artifacts" >&2 || true
      echo "run_fuzzer: fix the bug, then keep the input in $regressions/ (tests/fuzz/README.md)" >&2
    fi
    exit "$status"
    ;;
  replay)
    mapfile -t files < <(inputs)
    [ ${#files[@]} -gt 0 ] || { echo "run_fuzzer: no inputs in $seeds or $regressions" >&2; exit 1; }
    mkdir -p "$work"
    cd "$work"  # where libFuzzer would write a crash-* file
    exec "$fuzzer" "$@" "${files[@]}"
    ;;
  *)
    echo "run_fuzzer: unknown mode $mode (fuzz or replay)" >&2
    exit 2
    ;;
esac
