#!/usr/bin/env bash
# Installs the Debian packages leakwatch needs, and nothing when they are
# present. libbpf >= 1.3 (multi-uprobe links) and a matching bpftool come
# from bookworm-backports, and so do Go 1.21, 1.22 and 1.23 (the tests
# build Go targets with 1.19, 1.21 and 1.23, and check the Go heap layout
# tables on 1.22 too); its mirror is derived from the machine's own apt
# sources.
set -euo pipefail

BACKPORTS_PKGS="libbpf-dev bpftool libelf-dev libdw-dev golang-1.21-go golang-1.22-go golang-1.23-go"
PKGS="make gcc clang llvm pkg-config zlib1g-dev libzydis-dev libjson-c-dev
      libcmocka-dev libprotobuf-c-dev protobuf-c-compiler python3 cppcheck
      clang-format bpftrace iproute2 procps
      util-linux golang-1.19-go g++ libiberty-dev libncurses-dev tmux
      libc6-dbg libglib2.0-dev valgrind libclang-rt-14-dev libmicrohttpd-dev
      prometheus python3-prometheus-client"
# prometheus (promtool and a server) and python3-prometheus-client (an
# OpenMetrics parser) check --prometheus's output in the tests; installing
# prometheus starts its service where an init system runs: the tests run
# their own server on a port and in a directory of their own.
# make bench only (--bench): a packaged server and its load generator.
# Installing nginx starts its service where an init system runs; the
# bench runs its own instance on a port of its own.
BENCH_PKGS="nginx wrk"
if [ "${1:-}" = --bench ]; then
	PKGS="$PKGS $BENCH_PKGS"
fi

# A real reader of --folded output for the tests: speedscope's importer
# (Debian packages no folded-stack reader), from npm into build/npm, never
# global. Debian's nodejs and npm only when no npm is installed at all.
SPEEDSCOPE_VERSION=1.25.0
NPM_DIR="$(cd "$(dirname "$0")/.." && pwd)/build/npm"

node_pkgs() {
	command -v npm >/dev/null || echo "nodejs npm"
}

npm_reader() {
	local pkg="$NPM_DIR/node_modules/speedscope/package.json"
	if grep -qs "\"version\": \"$SPEEDSCOPE_VERSION\"" "$pkg"; then
		return 0
	fi
	echo "deps: installing speedscope $SPEEDSCOPE_VERSION into build/npm"
	mkdir -p "$NPM_DIR"
	if ! npm install --prefix "$NPM_DIR" --no-save --no-audit --no-fund \
		--ignore-scripts --loglevel=error \
		"speedscope@$SPEEDSCOPE_VERSION" >/dev/null; then
		echo "deps: npm could not install speedscope: its test will skip" >&2
	fi
}

installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed'
}

libbpf_new_enough() {
	local v
	v=$(dpkg-query -W -f='${Version}' libbpf-dev 2>/dev/null) || return 1
	dpkg --compare-versions "$v" ge 1:1.3
}

missing() {
	local p out=""
	for p in $PKGS $BACKPORTS_PKGS; do
		installed "$p" || out="$out $p"
	done
	libbpf_new_enough || out="$out libbpf-dev(>=1.3)"
	command -v npm >/dev/null || out="$out nodejs npm"
	echo "$out"
}

need=$(missing)
if [ -z "$need" ]; then
	npm_reader
	exit 0
fi
echo "deps: installing:$need"
if [ "$(id -u)" != 0 ]; then
	echo "deps: run as root (apt-get needs it)" >&2
	exit 3
fi

# The suite name and the mirror of the existing bookworm source.
mirror_uri() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '/^URIs:/ {u=$2} /^Suites:/ {for (i = 2; i <= NF; i++) if ($i == "bookworm") s=1}
		     /^$/ {if (u && s) {print u; exit} u=""; s=0}
		     END {if (u && s) print u}' "$f"
	done | head -n 1
	grep -hsE '^deb[[:space:]]+[^[]*[[:space:]]bookworm[[:space:]]' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list |
		awk '{print $2}' | head -n 1 || true
}

bp=/etc/apt/sources.list.d/leakwatch-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	uri=$(mirror_uri | head -n 1 || true)
	if [ -z "$uri" ]; then
		echo "deps: no bookworm apt source found to derive backports from" >&2
		exit 1
	fi
	cat >"$bp" <<EOT
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -t bookworm-backports $BACKPORTS_PKGS >/dev/null
apt-get install -y -qq $PKGS $(node_pkgs) >/dev/null
need=$(missing)
if [ -n "$need" ]; then
	echo "deps: still missing:$need" >&2
	exit 1
fi
echo "deps: done"
npm_reader
