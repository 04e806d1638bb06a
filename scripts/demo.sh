#!/usr/bin/env bash
# The README's first command: install what is missing, build, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/climits-manager --check -c configs/demo.yaml
echo "Running the demo: leaky allocates 4 MiB every 100 ms under a 60M limit. Ctrl-C stops it."
exec build/climits-manager -c configs/demo.yaml
