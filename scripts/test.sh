#!/usr/bin/env bash
# scripts/test.sh — run every test of s3up: formatting and vet checks, unit
# tests, and the integration suite against real S3 servers (MinIO, versitygw
# and SeaweedFS by default: s3test.DefaultServers) that the harness installs
# (pinned versions, built from source once and cached in
# ${S3UP_CACHE_DIR:-$HOME/.cache/s3up}) and starts on loopback.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -run TestPut    # extra arguments go to `go test`
#
# The first run builds the three servers before any test runs: about 15
# minutes from empty Go caches on 2 cores (MinIO 4.6, versitygw 2.1,
# SeaweedFS 8.1; 20-30 minutes on a slower machine). The suite itself takes
# about 15 minutes on 2 cores.
#
# S3UP_TEST_SERVERS=minio limits the server matrix (known: minio, versitygw,
# seaweedfs); S3UP_TEST_ENDPOINT runs the suite against any other S3 server
# (see README "Testing").
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt / go vet"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"
if [[ -n "$unformatted" ]]; then
	echo "gofmt needed:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...

echo "== installing test tools (the age CLI, from Debian's packages)"
bash scripts/install-test-tools.sh

echo "== installing test servers (cached)"
# Installing before `go test` keeps a long build (minutes for MinIO and
# SeaweedFS) out of the tests' -timeout.
if [[ -z "${S3UP_TEST_ENDPOINT:-}" ]]; then
	# Unset: DefaultServers of integration/s3test/s3test.go, its one definition.
	defaults="$(sed -n 's/^const DefaultServers = "\(.*\)"$/\1/p' integration/s3test/s3test.go)"
	if [[ -z "$defaults" ]]; then
		echo "cannot read DefaultServers from integration/s3test/s3test.go" >&2
		exit 1
	fi
	IFS=',' read -r -a servers <<<"${S3UP_TEST_SERVERS:-$defaults}"
	declare -A seen=()
	unique=()
	for s in "${servers[@]}"; do
		s="$(tr '[:upper:]' '[:lower:]' <<<"${s//[[:space:]]/}")"
		if [[ -n "$s" && -z "${seen[$s]:-}" ]]; then
			seen[$s]=1
			unique+=("$s")
		fi
	done
	bash scripts/install-servers.sh "${unique[@]}" >/dev/null
fi

# A requested server that cannot start must fail the run, never skip it.
export S3UP_TEST_DISALLOW_SKIP="${S3UP_TEST_DISALLOW_SKIP:-1}"
# Tests never touch the user's own resume state.
XDG_STATE_HOME="$(mktemp -d)"
export XDG_STATE_HOME
trap 'rm -rf "$XDG_STATE_HOME"' EXIT

echo "== unit tests (-race)"
# The unit packages run under the race detector: the engine uploads parts
# concurrently, and its tests drive it against an in-memory fake.
unit=$(go list ./... | grep -v '/integration')
go test -race -count=1 -timeout 20m "$@" $unit

echo "== integration tests"
go test -count=1 -timeout 40m "$@" ./integration/...
