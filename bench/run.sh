#!/usr/bin/env bash
# Benchmarks climits-manager against supervisord and the bare floor (bench/README.md).
#
#   bench/run.sh [--quick] [--out FILE.md] [--build-dir DIR] [--manager BIN] [--json FILE]
#                [--runs N] [--counts 10,100] [--samples N] [--idle-seconds S] [--no-supervisord]
#                [--nice N (default -10)]
#
# Full run (8 to 16 minutes, by the host's load): writes docs/performance.md and .png.
# --quick (under a minute): small N, one run, a short idle window; writes nothing into docs/
# unless --out says so, and fails only when the harness itself is broken (never on figures).
# Needs root (it creates cgroups) and cgroup v1 with the memory hierarchy.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
top="$(dirname "$here")"
build_dir="$top/build-bench"
manager=""
quick=0
out=""
nice_level=-10
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; pass+=(--quick) ;;
    --out) out="$2"; shift ;;
    --build-dir) build_dir="$2"; shift ;;
    --manager) manager="$2"; shift ;;
    --json|--runs|--counts|--samples|--idle-seconds) pass+=("$1" "$2"); shift ;;
    --no-supervisord) pass+=("$1") ;;
    --nice) nice_level="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$(id -u)" -ne 0 ]; then
  echo "run.sh: run as root (the bench creates cgroups)" >&2
  exit 2
fi

# The manager under test: a Release build of its own (never the shared build/), linked as the
# Debian package links it (C++ dependencies static, CMakeLists.txt).
if [ -z "$manager" ]; then
  cmake -S "$top" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCLIMITS_STATIC_DEPS=ON >/dev/null
  cmake --build "$build_dir" -j2 --target climits-manager climits-exec >/dev/null
  manager="$build_dir/climits-manager"
fi
[ -x "$manager" ] || { echo "run.sh: no climits-manager at $manager" >&2; exit 2; }
[ -x "$(dirname "$manager")/climits-exec" ] ||
  { echo "run.sh: no climits-exec beside $manager" >&2; exit 2; }

tag=$$
work="$(mktemp -d /tmp/climits-bench-bin.XXXXXX)"
cleanup() {
  /usr/bin/python3 "$here/bench.py" --cleanup --tag "$tag" || true
  rm -rf "$work"
}
trap cleanup EXIT

# The floor and the OOM program: plain C, built fresh (a fraction of a second).
cc=${CC:-cc}
"$cc" -O2 -Wall -Wextra -o "$work/floor" "$here/floor.c"
"$cc" -O2 -Wall -Wextra -o "$work/oomer" "$here/oomer.c"

if [ -z "$out" ] && [ "$quick" -eq 0 ]; then out="$top/docs/performance.md"; fi
[ -n "$out" ] && pass+=(--out "$out")
commit="$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)"

# All contestants inherit the niceness: the same for each, and less noise from other work.
# In the background, so that a signal to this script reaches the harness at once (it stops
# and cleans up), and the EXIT trap then makes sure nothing is left.
nice -n "$nice_level" /usr/bin/python3 "$here/bench.py" --manager "$manager" --floor "$work/floor" \
  --oomer "$work/oomer" --tag "$tag" --commit "$commit" "${pass[@]}" &
harness=$!
trap 'kill -TERM "$harness" 2>/dev/null; wait "$harness" || true; exit 130' INT TERM HUP
wait "$harness"
