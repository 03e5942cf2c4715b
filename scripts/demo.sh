#!/usr/bin/env bash
# make demo: launch a small server that leaks a session cache, under
# leakwatch, and show the report that finds it.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
gcc -O1 -g -fno-omit-frame-pointer scripts/demo-server.c -o build/demo-server
if [ "$(id -u)" != 0 ]; then
	echo "demo: leakwatch needs root (BPF and uprobes): run 'sudo make demo'" >&2
	exit 3
fi
echo "demo: ./leakwatch -i 1 -n 3 -- build/demo-server 16"
echo "demo: cache_insert() keeps every 4th request's session; the rest is freed."
./leakwatch -i 1 -n 3 -- build/demo-server 16
