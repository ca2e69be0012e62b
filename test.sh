#!/usr/bin/env bash
# The whole test suite: unit tests and CLI scenarios, under the race detector.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$PATH"
go test -race -count=1 -parallel 4 -timeout 15m ./...
