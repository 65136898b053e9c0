#!/usr/bin/env bash
# scripts/sbom.sh ARTIFACT DOCUMENT VERSION OS ARCH
#
# Writes DOCUMENT, a CycloneDX JSON SBOM of the release artefact ARTIFACT
# (an archive or a package). GoReleaser runs it from dist/ for every archive
# and package (.goreleaser.yaml, sboms:), with cyclonedx-gomod on PATH
# (scripts/release.sh puts it there).
#
# The only program an s3up artefact contains is the s3up binary built for
# OS/ARCH, so its SBOM is that binary's: cyclonedx-gomod reads the module
# graph the Go linker embedded in it (`go version -m`), exactly what was
# linked, without looking inside the archive. Every build of one OS/ARCH is
# the same binary, found in GoReleaser's build directory dist/s3up_OS_ARCH*/.
set -euo pipefail

if [[ $# -ne 5 ]]; then
	echo "usage: $0 ARTIFACT DOCUMENT VERSION OS ARCH (run by GoReleaser from dist/)" >&2
	exit 2
fi
artifact="$1" document="$2" version="$3" os="$4" arch="$5"

bins=()
for dir in s3up_"$os"_"$arch" s3up_"$os"_"$arch"_*; do
	for exe in s3up s3up.exe; do
		if [[ -f "$dir/$exe" ]]; then
			bins+=("$dir/$exe")
		fi
	done
done
if [[ ${#bins[@]} -ne 1 ]]; then
	echo "sbom: $artifact: want exactly one s3up binary for $os/$arch in $PWD, found ${#bins[@]}: ${bins[*]:-none}" >&2
	exit 1
fi
[[ -f "$artifact" ]] || {
	echo "sbom: $artifact: no such file in $PWD" >&2
	exit 1
}
cyclonedx-gomod bin -json -version "v$version" -output "$document" "${bins[0]}"
