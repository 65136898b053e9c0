#!/usr/bin/env bash
# scripts/check-release.sh — check what scripts/release.sh left in dist/, the
# way an operator meets it: every target built, static and trimmed, every
# checksum right, an SBOM per archive and package; then install the amd64
# .deb with dpkg -i, run the installed s3up (--version must name the commit
# that was built; put --help; a run without credentials prints only s3up's
# lines), check the man page, completions and systemd units landed (and that
# no unit is enabled), and remove the package again with dpkg -r.
#
# Run as root on a Debian-like amd64 host (CI does), after
# `scripts/release.sh --snapshot`. Without dpkg or root, the package half is
# skipped, unless CI is set, where it fails.
set -euo pipefail
# dpkg needs ldconfig and start-stop-daemon, in the sbin directories, which a
# minimal PATH (a CI runner's, env -i) may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok   $*"
}
fail() {
	failed=$((failed + 1))
	echo "FAIL $*" >&2
}
check() { # check DESCRIPTION COMMAND...
	local what="$1"
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

[[ -d dist ]] || {
	echo "no dist/: run scripts/release.sh --snapshot first" >&2
	exit 1
}
want_commit="$(git rev-parse HEAD)"

echo "== dist/"
check "sha256sum -c SHA256SUMS" bash -c 'cd dist && sha256sum --quiet -c SHA256SUMS'

for target in linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64 freebsd_amd64; do
	exe=s3up
	[[ $target == windows_* ]] && exe=s3up.exe
	bins=(dist/s3up_"$target"_*/"$exe")
	bin="${bins[0]}"
	if [[ ! -f "$bin" ]]; then
		fail "binary for $target: none in dist/s3up_${target}_*/"
		continue
	fi
	# The build settings the binary records (go version -m); with -trimpath
	# Go leaves out -ldflags, so look for the -X commit in the binary itself.
	info="$(go version -m "$bin")"
	check "binary $bin: CGO_ENABLED=0, -trimpath, carries commit" \
		bash -c 'grep -q "CGO_ENABLED=0" <<<"$1" && grep -q -- "-trimpath=true" <<<"$1" && grep -qaF "$2" "$3"' _ "$info" "$want_commit" "$bin"
	shopt -s nullglob
	archive=(dist/s3up_*_"$target".tar.gz dist/s3up_*_"$target".zip)
	shopt -u nullglob
	check "one archive for $target: ${archive[*]:-none}" test ${#archive[@]} -eq 1
done

shopt -s nullglob
debs=(dist/s3up_*_amd64.deb dist/s3up_*_arm64.deb)
rpms=(dist/s3up-*.x86_64.rpm dist/s3up-*.aarch64.rpm)
shopt -u nullglob
check "two .deb (amd64, arm64): ${debs[*]:-none}" test ${#debs[@]} -eq 2
check "two .rpm (x86_64, aarch64): ${rpms[*]:-none}" test ${#rpms[@]} -eq 2
for f in dist/*.tar.gz dist/*.zip "${debs[@]}" "${rpms[@]}"; do
	check "CycloneDX SBOM $f.cdx.json" grep -q '"bomFormat": "CycloneDX"' "$f.cdx.json"
	check "$f and its SBOM in SHA256SUMS" bash -c 'n="${1#dist/}"; grep -q "  $n\$" dist/SHA256SUMS && grep -q "  $n.cdx.json\$" dist/SHA256SUMS' _ "$f"
done

echo "== the .deb, installed"
deb="${debs[0]:-dist/none_amd64.deb}"
if [[ "$(uname -m)" != x86_64 || $EUID -ne 0 ]] || ! command -v dpkg >/dev/null; then
	if [[ -n "${CI:-}" ]]; then
		fail "CI needs root, dpkg and an x86_64 host to install $deb"
	else
		echo "skipped: installing the .deb needs root, dpkg and an x86_64 host"
	fi
else
	if dpkg -s s3up >/dev/null 2>&1; then
		echo "note: an s3up package was installed before; it is replaced, then removed" >&2
	fi
	cleanup() {
		if dpkg -s s3up >/dev/null 2>&1; then
			dpkg -r s3up >/dev/null
		fi
	}
	trap cleanup EXIT
	check "dpkg -i $deb" dpkg -i "$deb"

	version_out="$(/usr/bin/s3up --version 2>&1 || true)"
	echo "$version_out" | sed 's/^/     /'
	check "/usr/bin/s3up --version names commit $want_commit" grep -q "^commit: $want_commit\$" <<<"$version_out"
	check "/usr/bin/s3up version prints the same" test "$(/usr/bin/s3up version 2>&1)" = "$version_out"
	check "/usr/bin/s3up put --help" bash -c '/usr/bin/s3up put --help | grep -q -- "--state-dir"'

	# A run without credentials: only s3up's own lines. The metadata service
	# is pointed at a closed loopback port (no traffic leaves the machine).
	tmp="$(mktemp -d)"
	echo data >"$tmp/f"
	stderr="$(env -i PATH=/usr/bin:/bin HOME="$tmp" AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1 \
		/usr/bin/s3up put --retries 1 --state-dir "$tmp/state" --endpoint http://127.0.0.1:1 "$tmp/f" s3://bucket/f 2>&1 >/dev/null || true)"
	rm -rf "$tmp"
	check "no credentials: every line is s3up's" bash -c '[[ -n "$1" ]] && ! grep -qv "^s3up: " <<<"$1"' _ "$stderr"

	check "man page /usr/share/man/man1/s3up.1.gz" bash -c 'gzip -dc /usr/share/man/man1/s3up.1.gz | grep -q "^\.TH s3up 1"'
	if command -v man >/dev/null; then
		check "man -w s3up finds it" bash -c '[[ "$(man -w s3up)" == /usr/share/man/man1/s3up.1.gz ]]'
	fi
	check "bash completion completes 'pu' to put" bash -c \
		'source /usr/share/bash-completion/completions/s3up && COMP_WORDS=(s3up pu) COMP_CWORD=1 && _s3up_complete && [[ "${COMPREPLY[*]}" == put ]]'
	check "zsh completion /usr/share/zsh/vendor-completions/_s3up" grep -q '^#compdef s3up' /usr/share/zsh/vendor-completions/_s3up
	check "fish completion /usr/share/fish/vendor_completions.d/s3up.fish" grep -q "complete -c s3up" /usr/share/fish/vendor_completions.d/s3up.fish
	for shell in zsh fish; do
		if command -v "$shell" >/dev/null; then
			f=/usr/share/zsh/vendor-completions/_s3up
			[[ $shell == fish ]] && f=/usr/share/fish/vendor_completions.d/s3up.fish
			check "$shell -n $f" "$shell" -n "$f"
		fi
	done
	for unit in s3up-backup@.service s3up-backup@.timer; do
		check "unit /usr/lib/systemd/system/$unit" test -f "/usr/lib/systemd/system/$unit"
	done
	check "example env file" test -f /usr/share/doc/s3up/examples/example.env
	check "/etc/s3up is root-only (0700)" test "$(stat -c %a /etc/s3up)" = 700
	check "no unit enabled" bash -c '! ls /etc/systemd/system/*/s3up-backup@* >/dev/null 2>&1'
	if command -v systemd-analyze >/dev/null; then
		units="$(mktemp -d)"
		ln -s /usr/lib/systemd/system/s3up-backup@.service "$units/s3up-backup@ci.service"
		ln -s /usr/lib/systemd/system/s3up-backup@.timer "$units/s3up-backup@ci.timer"
		man_check=--man=yes
		command -v man >/dev/null || man_check=--man=no
		check "systemd-analyze verify s3up-backup@ci.service s3up-backup@ci.timer" \
			systemd-analyze verify "$man_check" "$units/s3up-backup@ci.service" "$units/s3up-backup@ci.timer"
		rm -rf "$units"
	else
		echo "skipped: systemd-analyze is not installed"
	fi

	check "dpkg -r s3up" bash -c 'dpkg -r s3up >/dev/null'
	check "removed: no /usr/bin/s3up, no /etc/s3up" bash -c '[[ ! -e /usr/bin/s3up && ! -e /etc/s3up ]]'
	trap - EXIT
fi

echo "release checks: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
