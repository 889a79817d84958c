#!/usr/bin/env bash
# Install the benchmark peers that do not come from PyPI into a cache outside the repo
# (default ~/.cache/zas-bench, override with ZAS_BENCH_CACHE):
#   SeaweedFS: the `weed` command, compiled from the Go module (about 11 minutes on 2 cores)
#   s3rver:    from npm, pinned to the 3.x line
# moto comes from PyPI: pip install -e '.[bench]'.
set -euo pipefail
CACHE="${ZAS_BENCH_CACHE:-$HOME/.cache/zas-bench}"
mkdir -p "$CACHE/bin" "$CACHE/npm"

if [ ! -x "$CACHE/bin/weed" ]; then
    # `go install ...weed@latest` refuses the module (its go.mod has replace directives), so
    # fetch the module through the Go module proxy and build it from the module cache.
    dir=$(go mod download -json github.com/seaweedfs/seaweedfs@latest |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    (cd "$dir" && go build -o "$CACHE/bin/weed" ./weed)
fi
"$CACHE/bin/weed" version

if [ ! -x "$CACHE/npm/node_modules/.bin/s3rver" ]; then
    (cd "$CACHE/npm" && npm install --no-audit --no-fund s3rver@3)
fi
echo "s3rver $(node -p 'require(process.argv[1]).version' "$CACHE/npm/node_modules/s3rver/package.json")"
