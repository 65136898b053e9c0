#!/usr/bin/env bash
# bench/tree-scale.sh — s3up's memory and time over big trees (issue 26),
# against a local MinIO (the cached test build, scripts/install-servers.sh).
#
#   bench/tree-scale.sh                 # dry runs over 25k and 200k files,
#                                       # unchanged reruns with --delete over 10k and 80k
#   bench/tree-scale.sh --million       # and a dry run over 1,000,000 files
#
# Each case runs s3up once under /usr/bin/time and prints a Markdown row:
# wall, CPU (user+sys), peak RSS (the kernel's high-water mark) and files/s.
# The trees (empty files, 50 to a directory, bench/internal/benchdata) and
# MinIO's data live in a temporary directory, removed on exit. A rerun is
# timed after a first upload of the same tree, with a new object the tree
# does not have (so --delete has one to delete), and the case fails unless
# the rerun uploaded nothing and deleted exactly that one.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
million=0
[[ "${1:-}" == "--million" ]] && million=1

work=$(mktemp -d "${TMPDIR:-/tmp}/s3up-tree-scale.XXXXXX")
minio_pid=
cleanup() {
	[[ -n "$minio_pid" ]] && kill "$minio_pid" 2>/dev/null && wait "$minio_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

bash "$repo/scripts/install-servers.sh" minio >/dev/null
minio=$(ls "${S3UP_CACHE_DIR:-$HOME/.cache/s3up}"/bin/minio-* | head -n 1)
go build -C "$repo" -o "$work/s3up" ./cmd/s3up
go build -C "$repo" -o "$work/s3ctl" ./bench/s3ctl
go build -C "$repo" -o "$work/treegen" ./bench/treegen

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ACCESS_KEY_ID=treescale AWS_SECRET_ACCESS_KEY=treescale-secret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port"
unset AWS_CA_BUNDLE
MINIO_ROOT_USER=$AWS_ACCESS_KEY_ID MINIO_ROOT_PASSWORD=$AWS_SECRET_ACCESS_KEY \
	"$minio" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$cport" "$work/data" >"$work/minio.log" 2>&1 &
minio_pid=$!
"$work/s3ctl" ready 60s >/dev/null
"$work/s3ctl" mb bench >/dev/null

state="$work/state"
s3up=("$work/s3up" --endpoint "$AWS_ENDPOINT_URL_S3" --state-dir "$state")

# timed LABEL FILES CMD...: one row.
timed() {
	local label=$1 files=$2
	shift 2
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/out" 2>&1 || {
		echo "tree-scale: $label failed:" >&2
		tail -n 5 "$work/out" >&2
		exit 1
	}
	read -r wall user sys rss <"$work/time"
	awk -v l="$label" -v n="$files" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
		printf "| %s | %d | %.2f | %.2f | %.0f | %.0f |\n", l, n, w, u + s, r / 1024, (w > 0 ? n / w : 0) }'
}

echo "| case | files | wall s | CPU s | peak RSS MiB | files/s |"
echo "|---|---:|---:|---:|---:|---:|"
dry=(25000 200000)
[[ $million == 1 ]] && dry+=(1000000)
for n in "${dry[@]}"; do
	"$work/treegen" "$work/tree-$n" "$n"
	timed "put -r --dry-run, empty bucket" "$n" "${s3up[@]}" put --quiet -r --dry-run "$work/tree-$n" "s3://bench/dry-$n/"
	rm -rf "$work/tree-$n"
done
for n in 10000 80000; do
	"$work/treegen" "$work/tree-$n" "$n"
	timed "put -r, first upload" "$n" "${s3up[@]}" put --quiet -r "$work/tree-$n" "s3://bench/up-$n/"
	printf x | "${s3up[@]}" put --quiet - "s3://bench/up-$n/stray.txt"
	timed "unchanged rerun, --delete" "$n" "${s3up[@]}" put --json -r --delete "$work/tree-$n" "s3://bench/up-$n/"
	summary=$(grep '"event":"summary"\|"event":"tree_summary"\|"event":"done"' "$work/out" | tail -n 1)
	if ! grep -q '"uploaded":0' <<<"$summary" || ! grep -q '"deleted":1' <<<"$summary"; then
		echo "tree-scale: the rerun over $n files did not upload 0 and delete 1: $summary" >&2
		exit 1
	fi
	rm -rf "$work/tree-$n"
done
