#!/usr/bin/env bash
# bench/run.sh — s3up against its peers, in one run (issue 7).
#
# usage: bench/run.sh [options]
#
#   --size SIZE          test file size (default 1GiB). Units: B, KiB/MiB/GiB/TiB
#                        and K/M/G/T (binary), KB/MB/GB/TB (decimal)
#   --rounds N           rounds (default 5); every round runs every tool once,
#                        round-robin, starting one tool later each round
#   --tls MODE           both | http | https (default both)
#   --tools LIST         comma-separated (default s3up,sdkmanager,rawparts,aws,mc,rclone,s3cmd;
#                        also available: mcput = `mc put -P CONC -s PART`)
#   --part-size SIZE     part size for every tool that takes one (default 16MiB)
#   --concurrency N      parts in flight for every tool that takes it (default 8)
#   --s3up-args "ARGS"   extra flags for s3up put (e.g. "--checksum none")
#   --compare            the comparison (the default when no mode is given)
#   --resume             the resume benchmark: s3up vs s3cmd --continue-put,
#                        each interrupted (kill -9) at half of the parts
#   --memory             s3up peak RSS for --memory-sizes x --memory-parts
#   --memory-sizes LIST  default 1GiB,8GiB
#   --memory-parts LIST  default 16MiB,128MiB
#   --install-peers      go install mc; apt-get install rclone s3cmd time
#   --workdir DIR        scratch dir for data, servers, logs (default: mktemp -d);
#                        the test files are reused from it if present
#   --keep               keep the workdir (default: removed on exit)
#   --out FILE           also write the markdown report to FILE (raw runs: FILE.tsv)
#   -h, --help           this text
#
# Modes combine: `--compare --resume --memory` runs all three.
# The report (markdown) goes to stdout, progress to stderr:
#   bench/run.sh --size 1GiB --rounds 5 > bench-results.md
# Quick check of the harness itself (a minute or two):
#   bench/run.sh --size 64MiB --rounds 1 --compare --resume --memory \
#       --memory-sizes 64MiB --memory-parts 8MiB,16MiB
#
# Needs: go, openssl, GNU time at /usr/bin/time (Debian: apt-get install time),
# python3 or bash /dev/tcp (to find free ports). The MinIO binary comes from
# scripts/install-servers.sh (cached in ${S3UP_CACHE_DIR:-$HOME/.cache/s3up}/bin).
# Peers that are not installed are skipped with a note. Everything listens on
# 127.0.0.1 only; the MinIO servers are stopped on exit.
set -euo pipefail

# ---------------------------------------------------------------- options
SIZE=1GiB
ROUNDS=5
TLS=both
TOOLS=s3up,sdkmanager,rawparts,aws,mc,rclone,s3cmd
PART=16MiB
CONC=8
S3UP_ARGS=""
DO_COMPARE=0 DO_RESUME=0 DO_MEMORY=0
MEM_SIZES=1GiB,8GiB
MEM_PARTS=16MiB,128MiB
INSTALL_PEERS=0
WORK=""
KEEP=0
OUT=""

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() {
	echo "bench: error: $*" >&2
	exit 2
}
note() { echo "bench: $*" >&2; }

while [[ $# -gt 0 ]]; do
	case "$1" in
	--size) SIZE=${2:?}; shift ;;
	--rounds) ROUNDS=${2:?}; shift ;;
	--tls) TLS=${2:?}; shift ;;
	--tools) TOOLS=${2:?}; shift ;;
	--part-size) PART=${2:?}; shift ;;
	--concurrency) CONC=${2:?}; shift ;;
	--s3up-args) S3UP_ARGS=${2?}; shift ;;
	--compare) DO_COMPARE=1 ;;
	--resume) DO_RESUME=1 ;;
	--memory) DO_MEMORY=1 ;;
	--memory-sizes) MEM_SIZES=${2:?}; shift ;;
	--memory-parts) MEM_PARTS=${2:?}; shift ;;
	--install-peers) INSTALL_PEERS=1 ;;
	--workdir) WORK=${2:?}; shift ;;
	--keep) KEEP=1 ;;
	--out) OUT=${2:?}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown option $1" ;;
	esac
	shift
done
if ((DO_COMPARE + DO_RESUME + DO_MEMORY == 0)); then
	DO_COMPARE=1
fi

# to_bytes SIZE → bytes on stdout
to_bytes() {
	local s=$1 n u
	if [[ ! $s =~ ^([0-9]+)([A-Za-z]*)$ ]]; then
		die "not a size: $s (examples: 64MiB, 1GiB, 500MB)"
	fi
	n=${BASH_REMATCH[1]} u=${BASH_REMATCH[2],,}
	case "$u" in
	"" | b) echo "$n" ;;
	k | kib) echo $((n << 10)) ;;
	m | mib) echo $((n << 20)) ;;
	g | gib) echo $((n << 30)) ;;
	t | tib) echo $((n << 40)) ;;
	kb) echo $((n * 1000)) ;;
	mb) echo $((n * 1000000)) ;;
	gb) echo $((n * 1000000000)) ;;
	tb) echo $((n * 1000000000000)) ;;
	*) die "unknown unit in $s" ;;
	esac
}
# human BYTES → 64MiB / 1GiB / 1234567B
human() {
	local b=$1
	if ((b >= 1 << 30 && b % (1 << 30) == 0)); then echo "$((b >> 30))GiB"
	elif ((b >= 1 << 20 && b % (1 << 20) == 0)); then echo "$((b >> 20))MiB"
	else echo "${b}B"; fi
}

SIZE_B=$(to_bytes "$SIZE")
PART_B=$(to_bytes "$PART")
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ $CONC =~ ^[1-9][0-9]*$ ]] || die "--concurrency must be a positive integer"
((SIZE_B > 0)) || die "--size must be > 0"
((PART_B >= 5 << 20)) || die "--part-size must be at least 5MiB (S3 minimum)"
case "$TLS" in
both) SCHEMES=(http https) ;;
http | https) SCHEMES=("$TLS") ;;
*) die "--tls must be both, http or https" ;;
esac
IFS=, read -r -a TOOL_LIST <<<"$TOOLS"
IFS=, read -r -a MEM_SIZE_LIST <<<"$MEM_SIZES"
IFS=, read -r -a MEM_PART_LIST <<<"$MEM_PARTS"
for t in "${TOOL_LIST[@]}"; do
	case "$t" in
	s3up | sdkmanager | rawparts | aws | mc | mcput | rclone | s3cmd) ;;
	*) die "unknown tool $t (known: s3up sdkmanager rawparts aws mc mcput rclone s3cmd)" ;;
	esac
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GNU_TIME=/usr/bin/time
BUCKET=bench

# ---------------------------------------------------------------- peers
if ((INSTALL_PEERS)); then
	note "installing peers: go install github.com/minio/mc@latest; apt-get install rclone s3cmd time"
	(cd / && GOWORK=off GOFLAGS= go install github.com/minio/mc@latest) >&2 || note "go install mc failed; mc will be skipped"
	SUDO=""
	if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then SUDO=sudo; fi
	if command -v apt-get >/dev/null; then
		{ $SUDO apt-get update -qq && $SUDO apt-get install -y -qq rclone s3cmd time; } >&2 ||
			note "apt-get install failed; missing peers will be skipped"
	else
		note "no apt-get: install rclone, s3cmd and GNU time yourself"
	fi
fi

# ---------------------------------------------------------------- prerequisites
command -v go >/dev/null || die "go not found"
command -v openssl >/dev/null || die "openssl not found (needed for the test data and the HTTPS server's certificates)"
if [[ ! -x $GNU_TIME ]] || ! "$GNU_TIME" --version 2>&1 | grep -q GNU; then
	die "GNU time not found at $GNU_TIME (it measures CPU and peak RSS): apt-get install -y time, or rerun with --install-peers"
fi

MINIO=""
if [[ -f $REPO/scripts/install-servers.sh ]]; then
	MINIO=$(bash "$REPO/scripts/install-servers.sh" minio | tail -n 1) || die "scripts/install-servers.sh minio failed"
else
	MINIO="${S3UP_CACHE_DIR:-$HOME/.cache/s3up}/bin/minio-v0.0.0-20260212201848-7aac2a2c5b7c"
fi
[[ -x $MINIO ]] || die "MinIO binary not found at $MINIO (run scripts/install-servers.sh minio)"

find_mc() {
	local c
	for c in "$(command -v mc 2>/dev/null || true)" "$(go env GOPATH 2>/dev/null)/bin/mc"; do
		# Not Midnight Commander.
		if [[ -n $c && -x $c ]] && "$c" --version 2>&1 | grep -qi -e 'runtime: go' -e minio; then
			echo "$c"
			return 0
		fi
	done
	return 1
}
MC=$(find_mc || true)
AWS=$(command -v aws || true)
RCLONE=$(command -v rclone || true)
S3CMD=$(command -v s3cmd || true)

# ---------------------------------------------------------------- workdir, cleanup
if [[ -z $WORK ]]; then
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/s3up-bench.XXXXXX")
	WORK_CREATED=1
else
	mkdir -p "$WORK"
	WORK=$(cd "$WORK" && pwd)
	WORK_CREATED=0
fi
BIN=$WORK/bin
LOGS=$WORK/logs
STATE=$WORK/s3up-state
RESULTS=$WORK/runs.tsv
REPORT=$WORK/report.md
mkdir -p "$BIN" "$LOGS"
: >"$REPORT"
printf 'mode\ttls\ttool\tround\tok\twall_s\tuser_s\tsys_s\tmaxrss_kib\trchar\twchar\tserver_cpu_s\tsize\tpart\tobject_parts\tnote\n' >"$RESULTS"

SERVER_PID=""
CHILD_PID=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $CHILD_PID ]]; then kill -9 "$CHILD_PID" 2>/dev/null || true; fi
	stop_server
	if ((KEEP)); then
		note "workdir kept: $WORK"
	elif ((WORK_CREATED)); then
		rm -rf "$WORK"
	else
		rm -rf "$WORK/minio-http" "$WORK/minio-https" "$STATE"
	fi
	exit "$rc"
}
stop_server() {
	if [[ -n $SERVER_PID ]]; then
		kill "$SERVER_PID" 2>/dev/null || true
		local i
		for i in $(seq 50); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=""
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Report lines go to stdout and to $REPORT.
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }

# ---------------------------------------------------------------- isolation
# Every SDK-based tool sees only the benchmark's credentials and endpoint,
# never the user's profiles or config files.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \
	AWS_USE_PATH_STYLE_ENDPOINT AWS_S3_ADDRESSING_STYLE 2>/dev/null || true
ORIG_CA_BUNDLE=${AWS_CA_BUNDLE:-}
export AWS_ACCESS_KEY_ID="bench$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
export AWS_SECRET_ACCESS_KEY="$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
mkdir -p "$WORK/aws"
: >"$WORK/aws/config"
: >"$WORK/aws/credentials"
export AWS_CONFIG_FILE=$WORK/aws/config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws/credentials
export AWS_EC2_METADATA_DISABLED=true
# aws-cli's own settings (the Go SDK never reads this file).
cat >"$WORK/aws/cli-config" <<EOF
[default]
region = us-east-1
s3 =
    multipart_threshold = $PART_B
    multipart_chunksize = $PART_B
    max_concurrent_requests = $CONC
    addressing_style = path
EOF
: >"$WORK/rclone.conf"
mkdir -p "$WORK/mc/certs/CAs"

# ---------------------------------------------------------------- build
note "building s3up and the helper programs into $BIN"
(cd "$REPO" && go build -o "$BIN/s3up" ./cmd/s3up) || die "go build ./cmd/s3up failed"
(cd "$REPO" && go build -o "$BIN/rawparts" ./bench/rawparts && go build -o "$BIN/s3ctl" ./bench/s3ctl) ||
	die "go build of bench/rawparts or bench/s3ctl failed"
HAVE_SDKMANAGER=1
if ! (cd "$REPO/bench/sdkmanager" && GOWORK=off go build -o "$BIN/sdkmanager" .) >"$LOGS/build-sdkmanager.log" 2>&1; then
	HAVE_SDKMANAGER=0
	note "building bench/sdkmanager failed (see below); sdkmanager will be skipped"
	sed 's/^/    /' "$LOGS/build-sdkmanager.log" >&2
fi
S3CTL=$BIN/s3ctl

# ---------------------------------------------------------------- test data
# Random bytes (incompressible, no dedupe), generated fast: AES-CTR keystream.
data_file() { # BYTES → path (generated once, reused)
	local b=$1 f="$WORK/data-$1.bin"
	if [[ -f $f && $(stat -c %s "$f") -eq $b ]]; then
		echo "$f"
		return 0
	fi
	note "generating $(human "$b") of random data: $f"
	{ openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:s3up-bench-$RANDOM$RANDOM" </dev/zero 2>/dev/null || true; } |
		head -c "$b" >"$f.tmp"
	[[ $(stat -c %s "$f.tmp") -eq $b ]] || die "could not generate $f"
	mv "$f.tmp" "$f"
	echo "$f"
}

avail_bytes() { df -B1 --output=avail "$WORK" | tail -n 1 | tr -d ' '; }
need_disk() { # BYTES WHAT
	local avail
	avail=$(avail_bytes)
	if ((avail < $1)); then
		die "$2 needs $(($1 >> 20)) MiB free in $WORK, only $((avail >> 20)) MiB available (use --workdir on a bigger disk)"
	fi
}

# ---------------------------------------------------------------- servers
free_port() {
	if command -v python3 >/dev/null; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
		return
	fi
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# Self-signed CA and a server certificate for 127.0.0.1, in MinIO's
# --certs-dir layout (public.crt, private.key).
make_certs() {
	local d=$WORK/tls
	[[ -f $d/ca.crt ]] && return 0
	mkdir -p "$d/certs"
	(
		cd "$d"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-keyout ca.key -out ca.crt -subj "/CN=s3up bench CA" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout certs/private.key -out server.csr -subj "/CN=127.0.0.1"
		printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
			"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile server.ext -out certs/public.crt
	) >"$LOGS/openssl.log" 2>&1 || {
		cat "$LOGS/openssl.log" >&2
		die "openssl could not make the test certificates"
	}
	cp "$d/ca.crt" "$WORK/mc/certs/CAs/ca.crt"
}

# start_server SCHEME: a fresh MinIO with an empty data dir; sets ENDPOINT, PORT.
start_server() {
	local scheme=$1 dir="$WORK/minio-$1" try port cport
	rm -rf "$dir"
	mkdir -p "$dir/data" "$dir/certs"
	if [[ $scheme == https ]]; then
		make_certs
		cp "$WORK/tls/certs/public.crt" "$WORK/tls/certs/private.key" "$dir/certs/"
	fi
	for try in 1 2 3; do
		port=$(free_port)
		cport=$(free_port)
		MINIO_ROOT_USER=$AWS_ACCESS_KEY_ID MINIO_ROOT_PASSWORD=$AWS_SECRET_ACCESS_KEY \
			MINIO_BROWSER=off MINIO_UPDATE=off MINIO_REGION=us-east-1 MINIO_CI_CD=on \
			"$MINIO" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$cport" \
			--certs-dir "$dir/certs" "$dir/data" >"$LOGS/minio-$scheme.log" 2>&1 &
		SERVER_PID=$!
		PORT=$port
		ENDPOINT="$scheme://127.0.0.1:$port"
		use_endpoint "$scheme"
		if "$S3CTL" ready 60s 2>>"$LOGS/minio-$scheme.log" && kill -0 "$SERVER_PID" 2>/dev/null; then
			"$S3CTL" mb "$BUCKET"
			note "MinIO ($scheme) on $ENDPOINT, pid $SERVER_PID, data in $dir/data"
			return 0
		fi
		note "MinIO ($scheme) did not start on port $port (try $try); log: $LOGS/minio-$scheme.log"
		stop_server
	done
	tail -n 20 "$LOGS/minio-$scheme.log" >&2
	die "could not start MinIO"
}

# use_endpoint SCHEME: point every client at the running server.
use_endpoint() {
	export AWS_ENDPOINT_URL_S3=$ENDPOINT
	if [[ $1 == https ]]; then
		export AWS_CA_BUNDLE=$WORK/tls/ca.crt SSL_CERT_FILE=$WORK/tls/ca.crt
	else
		if [[ -n $ORIG_CA_BUNDLE ]]; then export AWS_CA_BUNDLE=$ORIG_CA_BUNDLE; else unset AWS_CA_BUNDLE; fi
		unset SSL_CERT_FILE
	fi
	# rclone, from the environment only (its config file is empty).
	export RCLONE_CONFIG=$WORK/rclone.conf RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Minio \
		RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
		RCLONE_CONFIG_BENCH_ENDPOINT=$ENDPOINT RCLONE_CONFIG_BENCH_REGION=us-east-1 RCLONE_CONFIG_BENCH_ENV_AUTH=false
	# mc
	local proto=${ENDPOINT%%://*} hostport=${ENDPOINT#*://}
	export MC_HOST_bench="$proto://$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY@$hostport"
	# s3cmd
	S3CMD_CFG=$WORK/s3cmd-$1.cfg
	cat >"$S3CMD_CFG" <<EOF
[default]
access_key = $AWS_ACCESS_KEY_ID
secret_key = $AWS_SECRET_ACCESS_KEY
host_base = 127.0.0.1:$PORT
host_bucket = 127.0.0.1:$PORT
bucket_location = us-east-1
use_https = $([[ $1 == https ]] && echo True || echo False)
check_ssl_certificate = True
check_ssl_hostname = True
ca_certs_file = $([[ $1 == https ]] && echo "$WORK/tls/ca.crt")
signature_v2 = False
multipart_chunk_size_mb = $((PART_B >> 20))
progress_meter = False
EOF
}

server_cpu() { # seconds of CPU the server has used so far
	local stat
	stat=$(cat "/proc/$SERVER_PID/stat" 2>/dev/null) || {
		echo 0
		return
	}
	stat=${stat##*) }
	# fields after "(comm) ": state is 1, utime is 12, stime is 13
	read -r -a f <<<"$stat"
	echo $((f[11] + f[12]))
}
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- tools
# tool_available TOOL: 0 if it can run; else prints why not.
tool_available() {
	case "$1" in
	s3up | rawparts) return 0 ;;
	sdkmanager) ((HAVE_SDKMANAGER)) || { echo "bench/sdkmanager did not build"; return 1; } ;;
	aws) [[ -n $AWS ]] || { echo "aws-cli not installed"; return 1; } ;;
	mc | mcput) [[ -n $MC ]] || { echo "MinIO mc not installed (go install github.com/minio/mc@latest, or --install-peers)"; return 1; } ;;
	rclone) [[ -n $RCLONE ]] || { echo "rclone not installed (apt-get install rclone, or --install-peers)"; return 1; } ;;
	s3cmd) [[ -n $S3CMD ]] || { echo "s3cmd not installed (apt-get install s3cmd, or --install-peers)"; return 1; } ;;
	esac
	return 0
}

tool_version() {
	case "$1" in
	s3up) echo "s3up $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo dev)" ;;
	sdkmanager) echo "aws-sdk-go-v2 feature/s3/manager $(cd "$REPO/bench/sdkmanager" && GOWORK=off go list -m -f '{{.Version}}' github.com/aws/aws-sdk-go-v2/feature/s3/manager 2>/dev/null)" ;;
	rawparts) echo "aws-sdk-go-v2 service/s3 $(cd "$REPO" && go list -m -f '{{.Version}}' github.com/aws/aws-sdk-go-v2/service/s3 2>/dev/null)" ;;
	aws) "$AWS" --version 2>&1 | head -n 1 ;;
	mc | mcput) "$MC" --version 2>&1 | head -n 1 ;;
	rclone) "$RCLONE" version 2>/dev/null | head -n 1 ;;
	s3cmd) "$S3CMD" --version 2>&1 | head -n 1 ;;
	esac
}

tool_settings() {
	local p c
	p=$(human "$PART_B") c=$CONC
	case "$1" in
	s3up) echo "--part-size $p --concurrency $c${S3UP_ARGS:+ $S3UP_ARGS} (checksum/payload: s3up defaults)" ;;
	sdkmanager) echo "manager.Uploader defaults, PartSize $p, Concurrency $c, checksums WhenRequired" ;;
	rawparts) echo "$p parts, $c in flight, UNSIGNED-PAYLOAD, no checksum" ;;
	aws) echo "multipart_chunksize $p, max_concurrent_requests $c" ;;
	mc) echo "mc cp defaults (no part size or concurrency flags)" ;;
	mcput) echo "mc put --part-size $p --parallel $c" ;;
	rclone) echo "--s3-chunk-size $p --s3-upload-concurrency $c --s3-upload-cutoff $p" ;;
	s3cmd) echo "multipart_chunk_size_mb $((PART_B >> 20)) (sequential: s3cmd has no concurrency)" ;;
	esac
}

# tool_cmd TOOL FILE KEY PART_BYTES → CMD array
tool_cmd() {
	local tool=$1 file=$2 key=$3 part=$4 extra=()
	case "$tool" in
	s3up)
		# shellcheck disable=SC2206 # word splitting of --s3up-args is intended
		extra=($S3UP_ARGS)
		CMD=("$BIN/s3up" put --quiet --endpoint "$ENDPOINT" --part-size "$part" --concurrency "$CONC"
			--state-dir "$STATE" ${extra[@]+"${extra[@]}"} "$file" "s3://$BUCKET/$key")
		;;
	sdkmanager) CMD=("$BIN/sdkmanager" -part-size "$part" -concurrency "$CONC" "$file" "$BUCKET" "$key") ;;
	rawparts) CMD=("$BIN/rawparts" -part-size "$part" -concurrency "$CONC" "$file" "$BUCKET" "$key") ;;
	aws) CMD=(env "AWS_CONFIG_FILE=$WORK/aws/cli-config" "$AWS" s3 cp --only-show-errors --endpoint-url "$ENDPOINT" "$file" "s3://$BUCKET/$key") ;;
	mc) CMD=("$MC" --config-dir "$WORK/mc" cp --quiet --no-color "$file" "bench/$BUCKET/$key") ;;
	mcput) CMD=("$MC" --config-dir "$WORK/mc" put --quiet --no-color --parallel "$CONC" --part-size "$(human "$part")" "$file" "bench/$BUCKET/$key") ;;
	rclone)
		# rclone's AWS SDK (v1) refuses AWS_CA_BUNDLE with rclone's own
		# transport ("LoadCustomCABundleError"): drop it, pass --ca-cert.
		CMD=(env -u AWS_CA_BUNDLE "$RCLONE" copyto --s3-chunk-size "${part}B" --s3-upload-concurrency "$CONC" --s3-upload-cutoff "${part}B")
		if [[ $ENDPOINT == https://* ]]; then CMD+=(--ca-cert "$WORK/tls/ca.crt"); fi
		CMD+=("$file" "bench:$BUCKET/$key")
		;;
	s3cmd) CMD=("$S3CMD" -c "$S3CMD_CFG" put --no-progress "$file" "s3://$BUCKET/$key") ;;
	esac
}

# iowrap OUT CMD...: runs CMD as a child and, once it is reaped, writes the
# rchar and wchar it used (with its reaped descendants): Linux adds a reaped
# child's I/O counters to its parent's /proc/PID/io, so the wrapper's own
# counters before and after the child are the child's, plus a few hundred
# bytes of the wrapper's reads of /proc.
cat >"$BIN/iowrap" <<'EOF'
#!/usr/bin/env bash
out=$1
shift
read_io() {
	local k v
	R=0 W=0
	while read -r k v; do
		case $k in rchar:) R=$v ;; wchar:) W=$v ;; esac
	done </proc/$$/io
}
read_io
r0=$R w0=$W
"$@"
rc=$?
read_io
echo "$((R - r0)) $((W - w0))" >"$out"
exit $rc
EOF
chmod +x "$BIN/iowrap"

# measure MODE TLS TOOL ROUND FILE KEY PART_BYTES [NOTE]: one timed run, appended to $RESULTS.
# CMD must be set. Returns the command's status.
measure() {
	local mode=$1 tls=$2 tool=$3 round=$4 file=$5 key=$6 part=$7 note=${8:-}
	local tag="$mode-$tls-$tool-$round" tf iof log rc=0 ok=1 s0 s1 got etag="" oparts=-
	tf=$LOGS/$tag.time iof=$LOGS/$tag.io log=$LOGS/$tag.log
	{
		printf '#'
		printf ' %q' "${CMD[@]}"
		echo
	} >"$log"
	s0=$(server_cpu)
	"$GNU_TIME" -f '%e %U %S %M' -o "$tf" "$BIN/iowrap" "$iof" "${CMD[@]}" >>"$log" 2>&1 </dev/null || rc=$?
	s1=$(server_cpu)
	local wall user sys rss rchar=0 wchar=0
	read -r wall user sys rss < <(tail -n 1 "$tf")
	[[ -s $iof ]] && read -r rchar wchar <"$iof"
	if ((rc != 0)); then
		ok=0
		note "$tool ($tls, round $round) failed with status $rc; log: $log"
		tail -n 5 "$log" | sed 's/^/    /' >&2
	else
		read -r got etag < <("$S3CTL" stat "$BUCKET" "$key" 2>>"$log" || echo missing)
		# A multipart ETag ends in -N, N the number of parts.
		if [[ $etag =~ -([0-9]+)\"?$ ]]; then oparts=${BASH_REMATCH[1]}; elif [[ -n $etag ]]; then oparts=1; fi
		if [[ $got != "$(stat -c %s "$file")" ]]; then
			ok=0
			note "$tool ($tls, round $round): object size $got, expected $(stat -c %s "$file"); counted as failed"
		fi
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$tls" "$tool" "$round" "$ok" \
		"$wall" "$user" "$sys" "$rss" "$rchar" "$wchar" "$(awk -v a="$s0" -v b="$s1" -v t="$CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/t}')" \
		"$(stat -c %s "$file")" "$part" "$oparts" "$note" >>"$RESULTS"
	((ok)) && note "  $tool: ${wall}s wall, $(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')s CPU, $((rss >> 10)) MiB RSS"
	return $rc
}

reset_object() { # KEY: no object, no incomplete upload, no s3up state
	"$S3CTL" rm "$BUCKET" "$1" >>"$LOGS/s3ctl.log" 2>&1 || note "could not delete $1 (see $LOGS/s3ctl.log)"
	rm -rf "$STATE"
}

# ---------------------------------------------------------------- summaries
# summarize MODE TLS SIZE_BYTES: markdown table of medians per tool, in --tools
# order, the raw ceiling last; ratios are to s3up's medians.
summarize() {
	local mode=$1 tls=$2 size=$3
	awk -F'\t' -v mode="$mode" -v tls="$tls" -v size="$size" -v order="${TOOL_LIST[*]}" '
	function median(list,   a, n, i, j, t) {
		n = split(list, a, " ")
		if (n == 0) return ""
		for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j+1] = a[j]; a[j+1] = t }
		return (n % 2) ? a[(n+1)/2] + 0 : (a[n/2] + a[n/2+1]) / 2
	}
	NR > 1 && $1 == mode && $2 == tls {
		runs[$3]++
		if ($5 == 1) { ok[$3]++; wall[$3] = wall[$3] " " $6; cpu[$3] = cpu[$3] " " ($7 + $8); rss[$3] = rss[$3] " " $9; srv[$3] = srv[$3] " " $12; rd[$3] = rd[$3] " " $10; np[$3] = $15 }
	}
	END {
		n = split(order, tools, " ")
		base_w = median(wall["s3up"]); base_c = median(cpu["s3up"])
		print "| tool | ok/runs | parts | wall s | MB/s | CPU s (user+sys) | peak RSS MiB | server CPU s | read MiB | wall ÷ s3up | CPU ÷ s3up |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (i = 1; i <= n; i++) {
			t = tools[i]
			if (t == "rawparts" || !(t in runs)) continue
			line(t)
		}
		if ("rawparts" in runs) line("rawparts")
	}
	function line(t,   w, c, r, s, d, rw, rc, label) {
		label = (t == "rawparts") ? "*raw UploadPart loop (ceiling)*" : "**" t "**"
		if (!(t in ok)) { printf "| %s | 0/%d | | failed | | | | | | | |\n", label, runs[t]; return }
		w = median(wall[t]); c = median(cpu[t]); r = median(rss[t]); s = median(srv[t]); d = median(rd[t])
		rw = (t == "s3up" || base_w == "" || base_w == 0) ? "—" : sprintf("%.2f×", w / base_w)
		rc = (t == "s3up" || base_c == "" || base_c == 0) ? "—" : sprintf("%.2f×", c / base_c)
		printf "| %s | %d/%d | %s | %.2f | %.0f | %.2f | %.0f | %.2f | %.0f | %s | %s |\n", label, ok[t], runs[t], np[t], w, size / 1e6 / w, c, r / 1024, s, d / 1048576, rw, rc
	}' "$RESULTS"
}

ceiling_line() { # TLS
	awk -F'\t' -v tls="$1" -v size="$SIZE_B" '
	function median(list,   a, n, i, j, t) {
		n = split(list, a, " ")
		if (n == 0) return ""
		for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j+1] = a[j]; a[j+1] = t }
		return (n % 2) ? a[(n+1)/2] + 0 : (a[n/2] + a[n/2+1]) / 2
	}
	NR > 1 && $1 == "compare" && $2 == tls && $5 == 1 { w[$3] = w[$3] " " $6; c[$3] = c[$3] " " ($7 + $8) }
	END {
		if (!("rawparts" in w) || !("s3up" in w)) exit
		rw = median(w["rawparts"]); sw = median(w["s3up"]); rc = median(c["rawparts"]); sc = median(c["s3up"])
		printf "Raw ceiling (%s): %.2f s, %.0f MB/s, %.2f CPU s. s3up: %.2f s, %.0f MB/s — gap %+.2f s (%+.0f%% wall), %+.2f CPU s (%+.0f%% CPU).\n",
			tls, rw, size / 1e6 / rw, rc, sw, size / 1e6 / sw, sw - rw, 100 * (sw - rw) / rw, sc - rc, (rc > 0 ? 100 * (sc - rc) / rc : 0)
	}' "$RESULTS"
}

describe_tls() {
	if [[ $1 == http ]]; then
		echo "plain HTTP"
	else
		echo "HTTPS, self-signed CA"
	fi
}

# ---------------------------------------------------------------- header
header() {
	say "## Benchmark: s3up vs peers"
	say ""
	say "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	say "- Machine: <!-- describe: cloud instance / laptop model, disk type, anything else running -->"
	say "- CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//') — $(nproc) logical CPUs"
	say "- Memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kernel $(uname -r)"
	say "- Disk ($WORK): $(df -hT "$WORK" | awk 'NR==2 {print $2 ", " $3 " total, " $5 " free"}')"
	say "- Server: MinIO $(basename "$MINIO" | sed 's/^minio-//') single drive on 127.0.0.1, same machine"
	say "- $(go version)"
	say "- File: $(human "$SIZE_B") of random bytes, $(human "$PART_B") parts, concurrency $CONC, $ROUNDS round(s), tools round-robin"
	say ""
	say "| tool | version | settings |"
	say "|---|---|---|"
	local t why
	for t in "${TOOL_LIST[@]}"; do
		if why=$(tool_available "$t"); then
			say "| $t | $(tool_version "$t") | $(tool_settings "$t") |"
		else
			say "| $t | — | skipped: $why |"
		fi
	done
	say ""
}

# ---------------------------------------------------------------- compare
run_compare() {
	local file tls round i n t tools=() why key
	for t in "${TOOL_LIST[@]}"; do
		if why=$(tool_available "$t"); then tools+=("$t"); else note "skipping $t: $why"; fi
	done
	n=${#tools[@]}
	((n > 0)) || die "no tool to run"
	need_disk $((SIZE_B * 2 + (512 << 20))) "--size $(human "$SIZE_B") (file + object)"
	file=$(data_file "$SIZE_B")
	cat "$file" >/dev/null # warm the page cache: every tool reads from memory
	for tls in "${SCHEMES[@]}"; do
		start_server "$tls"
		for ((round = 1; round <= ROUNDS; round++)); do
			note "compare $tls round $round/$ROUNDS"
			for ((i = 0; i < n; i++)); do
				t=${tools[$(((i + round - 1) % n))]}
				key="obj-$t"
				reset_object "$key"
				tool_cmd "$t" "$file" "$key" "$PART_B"
				measure compare "$tls" "$t" "$round" "$file" "$key" "$PART_B" || true
				reset_object "$key"
			done
		done
		stop_server
		say "### Upload of $(human "$SIZE_B"), $(describe_tls "$tls")"
		say ""
		summarize compare "$tls" "$SIZE_B" | tee -a "$REPORT"
		say ""
		local c
		c=$(ceiling_line "$tls")
		[[ -n $c ]] && say "$c" && say ""
	done
	say "Medians over the rounds. MB/s = 10^6 bytes/s. CPU and peak RSS are the client process's (GNU time),"
	say "with its children; server CPU is MinIO's during the run. \"read MiB\" is the client's rchar"
	say "(bytes returned by read(2), from the page cache or the disk, plus a few MiB of interpreter"
	say "start-up for Python tools). Ratios > 1 mean the peer is slower or costlier than s3up."
	say ""
}

# ---------------------------------------------------------------- resume
# interrupt_s3up FILE KEY HALF: start s3up, kill -9 it once HALF part_done
# events have been printed; prints the number of parts it had reported.
interrupt_s3up() {
	local file=$1 key=$2 half=$3 log="$LOGS/resume-cut-s3up-$tls-$round.jsonl" seen=0 line
	# shellcheck disable=SC2206
	local extra=($S3UP_ARGS) rc=0
	: >"$log" # exists before tail opens it
	"$BIN/s3up" put --json --endpoint "$ENDPOINT" --part-size "$PART_B" --concurrency "$CUT_CONC" \
		--state-dir "$STATE" ${extra[@]+"${extra[@]}"} "$file" "s3://$BUCKET/$key" >>"$log" 2>&1 </dev/null &
	CHILD_PID=$!
	while IFS= read -r line; do
		if [[ $line == *'"event":"part_done"'* ]]; then
			seen=$((seen + 1))
			if ((seen >= half)); then
				kill -9 "$CHILD_PID" 2>/dev/null || true
				break
			fi
		fi
	done < <(tail -n +1 -f --pid="$CHILD_PID" "$log")
	wait "$CHILD_PID" 2>/dev/null || rc=$?
	CHILD_PID=""
	if ((rc != 137)); then
		note "  s3up was not interrupted (exit status $rc after $seen part_done events; log: $log)"
	fi
	echo "$seen"
}

# interrupt_s3cmd FILE KEY HALF: start s3cmd put, kill -9 it once the
# server's ListParts shows HALF parts.
interrupt_s3cmd() {
	local file=$1 key=$2 half=$3 log="$LOGS/resume-cut-s3cmd-$tls-$round.log" got rc=0
	"$S3CMD" -c "$S3CMD_CFG" put --no-progress "$file" "s3://$BUCKET/$key" >"$log" 2>&1 </dev/null &
	CHILD_PID=$!
	got=$("$S3CTL" waitparts "$BUCKET" "$key" "$half" 30m "$CHILD_PID" 2>>"$log") || true
	kill -9 "$CHILD_PID" 2>/dev/null || true
	wait "$CHILD_PID" 2>/dev/null || rc=$?
	CHILD_PID=""
	if ((rc != 137)); then
		note "  s3cmd was not interrupted (exit status $rc with ${got:-?} parts on the server; log: $log)"
	fi
	echo "${got:-0}"
}

run_resume() {
	local file tls round nparts half t tools=() key on_server target why
	for t in s3up s3cmd; do
		if why=$(tool_available "$t"); then tools+=("$t"); else note "resume: skipping $t: $why"; fi
	done
	need_disk $((SIZE_B * 2 + (512 << 20))) "--resume with --size $(human "$SIZE_B")"
	file=$(data_file "$SIZE_B")
	nparts=$(((SIZE_B + PART_B - 1) / PART_B))
	half=$((nparts / 2))
	((half >= 1)) || die "--resume needs at least 2 parts (--size > --part-size)"
	# With fewer parts than 2 x concurrency, every part is in flight at once
	# and they all land together: the interrupted run (only) then sends fewer
	# at a time so that it can be stopped half-way. The timed resume always
	# uses --concurrency $CONC.
	CUT_CONC=$CONC
	if ((half < 2 * CONC)); then
		CUT_CONC=$((half / 2 > 1 ? half / 2 : 1))
		note "resume: only $nparts parts: the interrupted s3up run uses --concurrency $CUT_CONC"
	fi
	cat "$file" >/dev/null
	: >"$WORK/resume-points.tsv"
	: >"$WORK/resume-s3up-events.txt"
	for tls in "${SCHEMES[@]}"; do
		start_server "$tls"
		for ((round = 1; round <= ROUNDS; round++)); do
			note "resume $tls round $round/$ROUNDS: interrupt at $half/$nparts parts, then resume"
			target=$half
			for t in "${tools[@]}"; do
				key="resume-$t"
				reset_object "$key"
				case "$t" in
				s3up) interrupt_s3up "$file" "$key" "$half" >/dev/null ;;
				# s3cmd sends one part at a time, so it can be stopped exactly
				# where s3up was: both resumes then start from the same point.
				s3cmd) interrupt_s3cmd "$file" "$key" "$target" >/dev/null ;;
				esac
				on_server=$("$S3CTL" parts "$BUCKET" "$key" 2>>"$LOGS/s3ctl.log" || echo "?")
				printf '%s\t%s\t%s\t%s\n' "$tls" "$t" "$round" "$on_server" >>"$WORK/resume-points.tsv"
				note "  $t interrupted with $on_server/$nparts parts on the server"
				if [[ $t == s3up && $on_server =~ ^[0-9]+$ ]]; then
					if ((on_server >= 1 && on_server < nparts)); then
						target=$on_server
					else
						note "  s3up left no usable half-done upload ($on_server/$nparts parts; file too small for $CONC parts in flight?); s3cmd is stopped at $half"
					fi
				fi
				case "$t" in
				s3up)
					tool_cmd s3up "$file" "$key" "$PART_B"
					CMD=("${CMD[@]/--quiet/--json}")
					;;
				s3cmd) CMD=("$S3CMD" -c "$S3CMD_CFG" put --continue-put --no-progress "$file" "s3://$BUCKET/$key") ;;
				esac
				measure resume "$tls" "$t" "$round" "$file" "$key" "$PART_B" "on_server=$on_server" || true
				if [[ $t == s3up ]]; then
					grep -h '"event":"resumed"' "$LOGS/resume-$tls-s3up-$round.log" |
						sed "s/^/$tls round $round: /" >>"$WORK/resume-s3up-events.txt" || true
				fi
				reset_object "$key"
			done
		done
		stop_server
		say "### Resume after an interruption at half of $nparts parts ($(human "$SIZE_B")), $(describe_tls "$tls")"
		say ""
		awk -F'\t' -v tls="$tls" -v size="$SIZE_B" -v part="$PART_B" -v nparts="$nparts" -v pts="$WORK/resume-points.tsv" '
		function median(list,   a, n, i, j, t) {
			n = split(list, a, " ")
			if (n == 0) return ""
			for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j+1] = a[j]; a[j+1] = t }
			return (n % 2) ? a[(n+1)/2] + 0 : (a[n/2] + a[n/2+1]) / 2
		}
		BEGIN { while ((getline l < pts) > 0) { split(l, f, "\t"); if (f[1] == tls) on[f[2]] = on[f[2]] " " f[4] } }
		NR > 1 && $1 == "resume" && $2 == tls {
			runs[$3]++
			if ($5 == 1) { ok[$3]++; wall[$3] = wall[$3] " " $6; cpu[$3] = cpu[$3] " " ($7 + $8); rss[$3] = rss[$3] " " $9; rd[$3] = rd[$3] " " $10 }
		}
		END {
			print "| tool | ok/runs | parts on server at resume | parts to send | resume wall s | CPU s | peak RSS MiB | read MiB (rchar) | read ÷ bytes to send |"
			print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
			split("s3up s3cmd", order, " ")
			for (k = 1; k <= 2; k++) {
				t = order[k]
				if (!(t in runs)) continue
				o = median(on[t])
				if (!(t in ok)) { printf "| **%s** | 0/%d | %s/%d | %s | failed | | | | |\n", t, runs[t], o, nparts, nparts - o; continue }
				printf "| **%s** | %d/%d | %s/%d | %s | %.2f | %.2f | %.0f | %.0f | %.2f |\n", t, ok[t], runs[t], o, nparts, nparts - o,
					median(wall[t]), median(cpu[t]), median(rss[t]) / 1024, median(rd[t]) / 1048576, (size - o * part > 0 ? median(rd[t]) / (size - o * part) : 0)
			}
		}' "$RESULTS" | tee -a "$REPORT"
		say ""
	done
	if [[ -s $WORK/resume-s3up-events.txt ]]; then
		say "s3up's own account of each resume (its JSON \"resumed\" event):"
		say ""
		sed 's/,\{0,1\}"upload_id":"[^"]*"//; s/^/    /' "$WORK/resume-s3up-events.txt" | tee -a "$REPORT"
		say ""
	fi
	say "s3up is killed (SIGKILL) when its JSON output has reported half of the parts done; with"
	say "--concurrency $CUT_CONC for that first run, a few more may reach the server. s3cmd, which sends one part at a"
	say "time, is then killed when ListParts shows the same number of parts, so both resumes start"
	say "from the same point. The timed run is the resume: s3up runs the same command again; s3cmd"
	say "runs put --continue-put. \"read\" is the resuming process's rchar: every byte read(2)/pread(2)"
	say "returned, from the page cache or the disk (about 2 MiB of it is Python start-up for s3cmd)."
	say "\"read ÷ bytes to send\" is the number of passes over what is left to send: 1 is the minimum,"
	say "a checksum or SigV4 payload hash computed before sending adds one, and a tool that re-checksums"
	say "the parts already on the server adds (parts on server ÷ parts to send) more."
	say ""
}

# ---------------------------------------------------------------- memory
run_memory() {
	local tls s p sb pb file key total=0 biggest=0 why
	for s in "${MEM_SIZE_LIST[@]}"; do
		sb=$(to_bytes "$s")
		[[ -f $WORK/data-$sb.bin ]] || total=$((total + sb))
		((sb > biggest)) && biggest=$sb
	done
	need_disk $((total + biggest + (1 << 30))) "--memory with sizes $MEM_SIZES (files + one object + 1 GiB)"
	for s in "${MEM_SIZE_LIST[@]}"; do data_file "$(to_bytes "$s")" >/dev/null; done
	for tls in "${SCHEMES[@]}"; do
		start_server "$tls"
		for s in "${MEM_SIZE_LIST[@]}"; do
			sb=$(to_bytes "$s")
			file=$(data_file "$sb")
			for p in "${MEM_PART_LIST[@]}"; do
				pb=$(to_bytes "$p")
				note "memory $tls: s3up, $(human "$sb") file, $(human "$pb") parts"
				key="mem-$sb-$pb"
				reset_object "$key"
				tool_cmd s3up "$file" "$key" "$pb"
				measure memory "$tls" s3up 1 "$file" "$key" "$pb" || true
				reset_object "$key"
			done
		done
		stop_server
	done
	say "### s3up peak memory"
	say ""
	say "| transport | file | part size | parts in flight | peak RSS MiB | parts × concurrency MiB | wall s | MB/s | ok |"
	say "|---|---:|---:|---:|---:|---:|---:|---:|---|"
	awk -F'\t' -v conc="$CONC" '
	function h(b) { return (b >= 1073741824 && b % 1073741824 == 0) ? (b / 1073741824) "GiB" : (b / 1048576) "MiB" }
	NR > 1 && $1 == "memory" {
		printf "| %s | %s | %s | %d | %.0f | %.0f | %.2f | %.0f | %s |\n", $2, h($13), h($14), conc, $9 / 1024, $14 * conc / 1048576, $6, ($6 > 0 ? $13 / 1e6 / $6 : 0), ($5 == 1 ? "yes" : "FAILED")
	}' "$RESULTS" | tee -a "$REPORT"
	say ""
	say "\"parts × concurrency\" is what a client that buffers every part in flight would hold;"
	say "s3up streams parts from the file (io.SectionReader), so its RSS should not grow with either."
	say ""
}

# ---------------------------------------------------------------- main
header
((DO_COMPARE)) && run_compare
((DO_RESUME)) && run_resume
((DO_MEMORY)) && run_memory
if [[ -n $OUT ]]; then
	cp "$REPORT" "$OUT"
	cp "$RESULTS" "$OUT.tsv"
	note "report written to $OUT (runs: $OUT.tsv)"
fi
note "done"
