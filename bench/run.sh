#!/usr/bin/env bash
# bench/run.sh — s3up against its peers (issues 7, 12, 13, 16).
#
# The harness is a Go program, bench/s3bench. This wrapper builds it from
# this checkout and execs it, so that the harness is the process: its exit
# status (2 bad usage, 130 interrupted) and signals reach the caller, which
# `go run` would not pass on. Relative --workdir and --out paths are the
# caller's.
#
#   bench/run.sh --help        all options
#   bench/run.sh --size 1GiB --rounds 5 > bench-results.md
#
# See bench/README.md for what is measured and how.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/s3up/bench
mkdir -p "$cache"
# One binary per checkout, replaced by rename: a run in progress keeps its own.
bin=$cache/s3bench-$(printf '%s' "$repo" | cksum | cut -d ' ' -f 1)
go build -C "$repo" -o "$bin.$$" ./bench/s3bench
mv -f "$bin.$$" "$bin"
S3BENCH_REPO=$repo exec "$bin" "$@"
