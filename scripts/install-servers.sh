#!/usr/bin/env bash
# install-servers.sh [minio] [versitygw] [seaweedfs]
#
# Installs the pinned S3 server binaries used by the integration tests into
# the cache ${S3UP_CACHE_DIR:-$HOME/.cache/s3up}/bin and prints their paths.
# Idempotent: a binary already in the cache is not rebuilt. With no argument
# the default test servers (DefaultServers in integration/s3test/s3test.go)
# are installed. The Go
# harness (integration/s3test) uses the same cache paths, the same pinned
# versions, the same build steps and the same lock files, so running this
# script first only saves time; `go test` installs on demand.
#
# Keep the versions and build steps in sync with integration/s3test/install.go.
set -euo pipefail

MINIO_PKG="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
VERSITYGW_PKG="github.com/versity/versitygw/cmd/versitygw"
VERSITYGW_VERSION="v1.8.0"
# SeaweedFS refuses `go install .../weed@VERSION` (replace directives in its
# go.mod): its module is downloaded and ./weed built in a writable copy.
SEAWEEDFS_MODULE="github.com/seaweedfs/seaweedfs"
SEAWEEDFS_PKG="./weed"
SEAWEEDFS_VERSION="v0.0.0-20261109003541-7506e5f91cd6"

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
	echo "usage: $0 [minio] [versitygw] [seaweedfs]" >&2
	exit 2
}

# go_install GOBIN PKG VERSION: builds PKG@VERSION into GOBIN.
go_install() {
	local gobin="$1" pkg="$2" version="$3"
	echo "installing $pkg@$version (go install) ..." >&2
	# Run outside any module so the project's go.mod / go.work play no part.
	(cd "$gobin" && GOBIN="$gobin" GOWORK=off go install "$pkg@$version") >&2
}

# build_in_module WORK NAME MODULE PKG VERSION: downloads MODULE@VERSION,
# copies it to WORK/src (the module cache is read-only) and builds PKG there
# into WORK/NAME, under the module's own go.mod. Same steps as buildInModule
# in integration/s3test/install.go.
build_in_module() {
	local work="$1" name="$2" module="$3" pkg="$4" version="$5"
	echo "installing $module@$version (go build $pkg in the module) ..." >&2
	# -mod=mod lets go.sum gain what the module's own go.sum lacks;
	# -buildvcs=false because the copy is no repository.
	local goflags="-mod=mod -buildvcs=false" json="$work/download.json" dir
	if ! (cd "$work" && GOWORK=off GOFLAGS="$goflags" go mod download -json "$module@$version") >"$json"; then
		echo "go mod download $module@$version failed:" >&2
		cat "$json" >&2
		return 1
	fi
	dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "$json")"
	if [[ -z "$dir" || ! -d "$dir" ]]; then
		echo "go mod download $module@$version: no module directory in its answer:" >&2
		cat "$json" >&2
		return 1
	fi
	cp -R "$dir" "$work/src"
	chmod -R u+w "$work/src"
	(cd "$work/src" && GOWORK=off GOFLAGS="$goflags" go build -o "$work/$name" "$pkg") >&2
}

# install_one NAME VERSION BUILDER ARGS...: unless the cache has
# NAME-VERSION, runs BUILDER WORK ARGS... in a new temporary directory WORK
# (leaving WORK/NAME) and moves the binary into the cache.
install_one() {
	local name="$1" version="$2" builder="$3"
	shift 3
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
		local work
		work="$(mktemp -d)"
		tmp_dirs+=("$work")
		local start=$SECONDS
		"$builder" "$work" "$@"
		# Copy next to the destination, then rename: atomic even when the
		# temporary directory is on another file system.
		local tmp="$bin_dir/.$name-$version.tmp.$$"
		cp "$work/$name" "$tmp"
		chmod 0755 "$tmp"
		mv -f "$tmp" "$dest"
		rm -rf "$work"
		echo "installed $name in $((SECONDS - start))s" >&2
	fi
	exec {lock_fd}>&-
	echo "$dest"
}

servers=("$@")
if [[ ${#servers[@]} -eq 0 ]]; then
	defaults="$(sed -n 's/^const DefaultServers = "\(.*\)"$/\1/p' \
		"$(dirname "$0")/../integration/s3test/s3test.go")"
	if [[ -z "$defaults" ]]; then
		echo "cannot read DefaultServers from integration/s3test/s3test.go" >&2
		exit 1
	fi
	IFS=',' read -r -a servers <<<"$defaults"
fi
for s in "${servers[@]}"; do
	case "$s" in
	minio) install_one minio "$MINIO_VERSION" go_install "$MINIO_PKG" "$MINIO_VERSION" ;;
	versitygw) install_one versitygw "$VERSITYGW_VERSION" go_install "$VERSITYGW_PKG" "$VERSITYGW_VERSION" ;;
	seaweedfs) install_one weed "$SEAWEEDFS_VERSION" build_in_module weed "$SEAWEEDFS_MODULE" "$SEAWEEDFS_PKG" "$SEAWEEDFS_VERSION" ;;
	-h | --help) usage ;;
	*)
		echo "unknown server: $s" >&2
		usage
		;;
	esac
done
