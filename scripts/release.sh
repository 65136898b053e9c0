#!/usr/bin/env bash
# scripts/release.sh [--snapshot] [--docker] [GORELEASER FLAGS...]
#
# Builds a release of s3up into dist/ with GoReleaser (.goreleaser.yaml):
# static binaries for linux amd64/arm64, darwin amd64/arm64, windows amd64
# and freebsd amd64 in tar.gz/zip archives, .deb and .rpm packages, the
# SHA256SUMS file and a CycloneDX SBOM per archive and package. Nothing is
# published: upload the files of dist/ by hand or from CI.
#
#   scripts/release.sh --snapshot   # any commit, no tag needed (what CI runs)
#   scripts/release.sh              # HEAD tagged vX.Y.Z, clean work tree
#   scripts/release.sh --docker ... # also build the container images
#                                   # (needs Docker with buildx; see Dockerfile)
#
# Needs only Go and git. The pinned GoReleaser and cyclonedx-gomod are built
# with `go install` once and cached in ${S3UP_CACHE_DIR:-$HOME/.cache/s3up}/bin
# (like the test servers, scripts/install-servers.sh); later runs reuse them.
# Further flags go to `goreleaser release`, e.g. --parallelism 4.
set -euo pipefail
cd "$(dirname "$0")/.."

GORELEASER_PKG="github.com/goreleaser/goreleaser/v2"
GORELEASER_VERSION="v2.15.1"
CYCLONEDX_PKG="github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod"
CYCLONEDX_VERSION="v1.10.0"

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

# install_one NAME PKG VERSION: prints the cached binary's path, building it
# first if it is not cached yet (same scheme as scripts/install-servers.sh).
install_one() {
	local name="$1" pkg="$2" version="$3"
	local dest="$bin_dir/$name-$version"
	if [[ -x "$dest" ]]; then
		echo "$dest"
		return 0
	fi
	# Serialise with other installers of the same binary.
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

snapshot=0
docker=0
args=()
for a in "$@"; do
	case "$a" in
	--snapshot) snapshot=1 ;;
	--docker) docker=1 ;;
	-h | --help)
		sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) args+=("$a") ;;
	esac
done

start=$SECONDS
goreleaser="$(install_one goreleaser "$GORELEASER_PKG" "$GORELEASER_VERSION")"
cyclonedx="$(install_one cyclonedx-gomod "$CYCLONEDX_PKG" "$CYCLONEDX_VERSION")"

# GoReleaser runs the SBOM tool by name (scripts/sbom.sh calls
# cyclonedx-gomod): put the pinned one first on PATH.
tool_dir="$(mktemp -d)"
tmp_dirs+=("$tool_dir")
ln -s "$cyclonedx" "$tool_dir/cyclonedx-gomod"
export PATH="$tool_dir:$PATH"

# GoReleaser gives up on all git information (the commit becomes "none")
# when the clone has no remote; lend it one for its own git calls only.
if [[ -z "$(git remote)" ]]; then
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/s3up/s3up.git
fi

# Generated inputs are rebuilt from scratch by the before hook.
rm -rf build/docs

if [[ $snapshot -eq 1 ]]; then
	args=(--snapshot "${args[@]}")
else
	# A real release builds from a tag; publishing is left to whoever
	# uploads dist/.
	args=(--skip=publish,announce "${args[@]}")
fi
if [[ $docker -eq 0 ]]; then
	args+=(--skip=docker)
fi
"$goreleaser" release --clean "${args[@]}"

echo "== dist/ (built in $((SECONDS - start))s)"
(cd dist && ls -l -- *.tar.gz *.zip *.deb *.rpm *.cdx.json SHA256SUMS)
