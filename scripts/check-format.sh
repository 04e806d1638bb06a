#!/usr/bin/env bash
# Checks that every C and C++ file under src/ and tests/ is as clang-format 14 writes it
# (.clang-format); exits 1 naming the files and the command that fixes them. Run by ctest
# (label `format`), so CI fails on an unformatted file.
set -euo pipefail
cd "$(dirname "$0")/.."
format=${CLANG_FORMAT:-clang-format-14}
command -v "$format" >/dev/null || format=clang-format
command -v "$format" >/dev/null ||
  { echo "check-format: clang-format is not installed (apt-get install clang-format)" >&2; exit 2; }
mapfile -t files < <(git ls-files -co --exclude-standard -- 'src/*.[ch]' 'src/*.cc' \
  'tests/*.[ch]' 'tests/*.cc' | sort)
unformatted=()
for file in "${files[@]}"; do
  [ -f "$file" ] || continue
  "$format" --dry-run --Werror "$file" >/dev/null 2>&1 || unformatted+=("$file")
done
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "check-format: ${#unformatted[@]} file(s) are not formatted as .clang-format says:" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  echo "fix them with: $format -i ${unformatted[*]}" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted as .clang-format says"
