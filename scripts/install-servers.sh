#!/usr/bin/env bash
# install-servers.sh [minio] [versitygw]
#
# Installs the pinned S3 server binaries used by the integration tests into
# the cache ${S3UP_CACHE_DIR:-$HOME/.cache/s3up}/bin and prints their paths.
# Idempotent: a binary already in the cache is not rebuilt. With no argument
# both servers are installed. The Go harness (integration/s3test) uses the same
# cache paths, the same pinned versions and the same lock files, so running
# this script first only saves time; `go test` installs on demand.
#
# Keep the versions in sync with integration/s3test/install.go.
set -euo pipefail

MINIO_PKG="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
VERSITYGW_PKG="github.com/versity/versitygw/cmd/versitygw"
VERSITYGW_VERSION="v1.8.0"

cache_dir="${S3UP_CACHE_DIR:-$HOME/.cache/s3up}"
bin_dir="$cache_dir/bin"
mkdir -p "$bin_dir"

tmp_dirs=()
cleanup() {
	if [[ ${#tmp_dirs[@]} -gt 0 ]]; then
		rm -rf "${tmp_dirs[@]}"
	fi
}
trap cleanup EXIT

usage() {
	echo "usage: $0 [minio] [versitygw]" >&2
	exit 2
}

install_one() {
	local name="$1" pkg="$2" version="$3"
	local dest="$bin_dir/$name-$version"
	if [[ -x "$dest" ]]; then
		echo "$dest"
		return 0
	fi
	# Serialise with other installers (this script or the Go harness) of the
	# same binary. The lock file is shared with integration/s3test.
	local lock="$bin_dir/.$name.lock"
	exec {lock_fd}>"$lock"
	if command -v flock >/dev/null 2>&1; then
		flock "$lock_fd"
	fi
	if [[ ! -x "$dest" ]]; then
		local gobin
		gobin="$(mktemp -d)"
		tmp_dirs+=("$gobin")
		echo "installing $name $version (go install $pkg@$version) ..." >&2
		local start=$SECONDS
		# Run outside any module so the project's go.mod / go.work play no part.
		(cd "$gobin" && GOBIN="$gobin" GOWORK=off go install "$pkg@$version") >&2
		# Copy next to the destination, then rename: atomic even when the
		# temporary GOBIN is on another file system.
		local tmp="$bin_dir/.$name-$version.tmp.$$"
		cp "$gobin/$name" "$tmp"
		chmod 0755 "$tmp"
		mv -f "$tmp" "$dest"
		rm -rf "$gobin"
		echo "installed $name in $((SECONDS - start))s" >&2
	fi
	exec {lock_fd}>&-
	echo "$dest"
}

servers=("$@")
if [[ ${#servers[@]} -eq 0 ]]; then
	servers=(minio versitygw)
fi
for s in "${servers[@]}"; do
	case "$s" in
	minio) install_one minio "$MINIO_PKG" "$MINIO_VERSION" ;;
	versitygw) install_one versitygw "$VERSITYGW_PKG" "$VERSITYGW_VERSION" ;;
	-h | --help) usage ;;
	*)
		echo "unknown server: $s" >&2
		usage
		;;
	esac
done
