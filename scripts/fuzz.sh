#!/usr/bin/env bash
# make fuzz: seeds each harness's corpus from real binaries and /proc
# files (tests/fuzz/seeds.py), then runs each harness FUZZ_SECONDS
# (default 20) and prints one line per harness. A crash's input is kept
# as build/fuzz/crash/<harness>/crash-*: minimize it (the harness with
# -minimize_crash=1 -runs=10000 INPUT), fix the parser, and add the
# minimized input under tests/fuzz/regress/<harness>/ (make test replays
# it). Exit status 1 when a harness found something.
#
#	scripts/fuzz.sh HARNESS...
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$ROOT/build/fuzz"
SECONDS_EACH="${FUZZ_SECONDS:-20}"
export GOCACHE="${GOCACHE:-${LW_GOCACHE:-$ROOT/build/gocache}}"

if [ $# -eq 0 ]; then
	echo "usage: $0 HARNESS..." >&2
	exit 2
fi
python3 "$ROOT/tests/fuzz/seeds.py" "$BUILD" "$@" || exit 1

# ELF inputs are whole binaries (a truncated one loses its section
# headers, which come last); /proc text and memory images are small.
max_len() {
	case "$1" in
	elfsym | gopclntab | goinfo | cfi_build) echo $((4 << 20)) ;;
	*) echo 65536 ;;
	esac
}

found=0
printf '%-12s %6s %10s %8s %s\n' harness seeds runs crashes corpus
for h in "$@"; do
	bin="$BUILD/$h"
	corpus="$BUILD/corpus/$h"
	crash="$BUILD/crash/$h"
	log="$BUILD/log/$h.log"
	mkdir -p "$corpus" "$crash" "$BUILD/log"
	seeds=$(find "$corpus" -type f | wc -l)
	touch "$crash/.start" # findings of earlier runs are not this one's
	# -fork=1 keeps going past a crash (each child's finding is kept);
	# a per-input timeout and RSS limit make hangs and blowups findings.
	(cd "$crash" && "$bin" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
		-ignore_ooms=1 -max_total_time="$SECONDS_EACH" \
		-max_len="$(max_len "$h")" -rss_limit_mb=2048 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$crash/" \
		"$corpus" >"$log" 2>&1)
	runs=$(grep -ho 'stat::number_of_executed_units: *[0-9]*' "$log" |
		awk '{s += $2} END {print s + 0}')
	if [ "$runs" = 0 ]; then # -fork mode prints its own totals
		runs=$(grep -o '#[0-9]*' "$log" | tail -n 1 | tr -d '#')
	fi
	crashes=$(find "$crash" -type f -newer "$crash/.start" \( -name 'crash-*' -o -name 'timeout-*' \
		-o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
	size=$(find "$corpus" -type f | wc -l)
	printf '%-12s %6s %10s %8s %s\n' "$h" "$seeds" "${runs:-0}" "$crashes" "$size"
	if [ "$crashes" != 0 ]; then
		found=1
		echo "  findings: $crash (log: $log)"
	fi
done
exit $found
