#!/usr/bin/env bash
# install-test-tools.sh: installs the command-line tools that unit tests run
# against, from Debian's packages, and says what it did. Idempotent: a tool
# already on PATH is left alone.
#
#   age   the reference age CLI; s3up/seal's tests decrypt sealed objects with
#         `age -d -i KEY` to prove they restore without s3up.
#
# Needs root (or sudo) for apt-get when something is missing. A test that needs
# a tool fails when it is missing, naming this script; set
# S3UP_TEST_ALLOW_MISSING_TOOLS=1 to skip such tests instead.
set -euo pipefail

# tool command -> Debian package
declare -A packages=([age]=age)

missing=()
for cmd in "${!packages[@]}"; do
	if path="$(command -v "$cmd")"; then
		echo "install-test-tools: $cmd already installed: $path"
	else
		missing+=("${packages[$cmd]}")
	fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	if ! command -v sudo >/dev/null; then
		echo "install-test-tools: need root to install ${missing[*]} (apt-get install -y ${missing[*]})" >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "install-test-tools: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine's package lists may be empty or stale: install fails on them.
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq "${missing[@]}"

for cmd in "${!packages[@]}"; do
	if ! path="$(command -v "$cmd")"; then
		echo "install-test-tools: $cmd still missing after installing ${packages[$cmd]}" >&2
		exit 1
	fi
	echo "install-test-tools: $cmd installed: $path ($("$cmd" --version 2>&1 | head -n 1))"
done
