#!/usr/bin/env bash
# make soak: leakwatch watching two busy servers for SOAK_SECONDS (default
# 600), as one would leave it running on a node:
#   C   scripts/soak_cserver.c: threads churning malloc and its family and
#       mmap over thousands of stacks at a set rate, a bounded live set,
#       exact books of its own outstanding bytes per site
#   Go  scripts/gohttp_heap.go (make bench's allocation-heavy net/http
#       server, its heap sampled) under load from scripts/soak_load.go, a
#       client process of its own at a set rate
# One leakwatch for both, `-a --comm soak_cserver --comm soak_goserver`:
# what a user leaves running on a node to watch named services (one set
# of programs, one report; a restarted service is picked up by name, -p
# would lose it). Every SOAK_STEP seconds a line of the series: leakwatch's
# VmRSS and VmHWM, the CPU it used in the step, the servers' rates. At the
# end the C server parks its threads and writes its books; leakwatch
# reports twice more and is stopped; its JSON must show the C server's
# outstanding bytes exactly (see scripts/soak_check.py). Exit 0 only if
# RSS and CPU are flat, the books match, and the work was observed.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SOAK_SECONDS:-600}
# 30 s steps for a real soak; shorter runs get 10 of them
if [ -z "${SOAK_STEP:-}" ]; then
	SOAK_STEP=30
	[ "$SECS" -ge 300 ] || SOAK_STEP=$(((SECS + 9) / 10))
fi
# -i 2: the trend windows (60 reports, see soak_check.py) are full after
# 2 minutes, leaving 8 of 10 to judge, and a cost or a leak per report
# shows 2.5 times sooner than at the default -i 5; short runs get -i 1
if [ -z "${SOAK_INTERVAL:-}" ]; then
	SOAK_INTERVAL=2
	[ "$SECS" -ge 300 ] || SOAK_INTERVAL=1
fi
INTERVAL=$SOAK_INTERVAL
C_THREADS=${SOAK_C_THREADS:-4}
C_RATE=${SOAK_C_RATE:-8000}   # operations per second, 2 allocations each
GO_CONNS=${SOAK_GO_CONNS:-4}
GO_RATE=${SOAK_GO_RATE:-300}  # requests per second
GO=${SOAK_GO:-/usr/lib/go-1.23/bin/go}
GOCACHE_DIR=${LW_GOCACHE:-$PWD/build/gocache}
W=$PWD/build/soak
LOG=$W/leakwatch.log
REPORT=$W/report.json
SERIES=$W/series.tsv

rm -rf "$W"
mkdir -p "$W" "$GOCACHE_DIR"
gcc -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls -fno-ipa-icf \
	-Wall -Wextra -Itests/targets scripts/soak_cserver.c -o build/soak_cserver -lpthread
if [ ! -x "$GO" ]; then
	echo "soak: no Go toolchain at $GO (SOAK_GO): cannot run the Go server" >&2
	exit 1
fi
gohome=$(mktemp -d)
# only the file named: gohttp_heap_pprof.go stays out (the heap is sampled)
HOME=$gohome GOCACHE=$GOCACHE_DIR "$GO" build -o build/soak_goserver scripts/gohttp_heap.go
HOME=$gohome GOCACHE=$GOCACHE_DIR "$GO" build -o build/soak_load scripts/soak_load.go
rm -rf "$gohome"

cs="" gs="" cl="" lw=""
cleanup() {
	local p
	if [ -n "$lw" ] && kill -0 "$lw" 2>/dev/null; then
		kill -INT "$lw" 2>/dev/null || true
		for _ in $(seq 150); do kill -0 "$lw" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$lw" 2>/dev/null || true
	fi
	for p in $cl $cs $gs; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

fail() {
	echo "soak: $*" >&2
	exit 1
}

# The servers first, idle until the start; then leakwatch.
build/soak_cserver "$W" "$C_THREADS" "$C_RATE" &
cs=$!
build/soak_goserver server "$W/go.url" >/dev/null &
gs=$!
for _ in $(seq 100); do [ -s "$W/ready" ] && [ -s "$W/go.url" ] && break; sleep 0.1; done
[ -s "$W/ready" ] && [ -s "$W/go.url" ] || fail "the servers did not start"
read -r _ url <"$W/go.url"

./leakwatch -a --comm soak_cserver --comm soak_goserver -i "$INTERVAL" -n 5 -v \
	--json "$REPORT" >"$LOG" 2>&1 &
lw=$!
for _ in $(seq 300); do
	grep -qs "zoom pid $cs " "$LOG" && grep -qs "zoom pid $gs " "$LOG" && break
	kill -0 "$lw" 2>/dev/null || break
	sleep 0.1
done
grep -q "zoom pid $cs " "$LOG" && grep -q "zoom pid $gs " "$LOG" ||
	fail "leakwatch did not zoom both servers (see $LOG)"

# leakwatch's BPF links and programs, from its descriptors: after it, none
# of them may be left (other tracers' may come and go meanwhile)
bpf_ids() {
	awk '/^(link_id|prog_id):/ { print $1, $2 }' /proc/"$lw"/fdinfo/* 2>/dev/null
}
bpf_ids >"$W/bpf-ids"

touch "$W/start"
build/soak_load "$url" "$GO_CONNS" "$GO_RATE" "$W/load" &
cl=$!

tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' /proc/"$lw"/stat; }
vm() { awk -v k="$1:" '$1 == k { print $2 }' /proc/"$lw"/status; }
# C: ops allocs frees bytes count; Go: requests errors
cstat() { cat "$W/status" 2>/dev/null || echo "0 0 0 0 0"; }
gstat() { cat "$W/load" 2>/dev/null || echo "0 0"; }

printf '%s\n' "soak: ${SECS} s, a line every ${SOAK_STEP} s; leakwatch -i $INTERVAL on pids $cs (C, $C_THREADS threads, $C_RATE ops/s) and $gs (Go, $GO_RATE req/s)"
printf '%7s %10s %10s %10s %9s %10s %11s %9s %11s\n' elapsed "RSS KiB" "HWM KiB" "anon KiB" "CPU s" "C ops/s" "C allocs/s" "Go req/s" "C live KiB"
echo "t rss_kib hwm_kib anon_kib cpu_s c_ops_s c_allocs_s go_req_s c_live_kib" >"$SERIES"
t0=$(date +%s.%N)
tk0=$(cpu_ticks)
read -r o0 a0 _ <<<"$(cstat)"
read -r r0 _ <<<"$(gstat)"
step=0
while :; do
	step=$((step + 1))
	# sleep to the step's mark, not for a step: no drift
	now=$(date +%s.%N)
	sleep "$(awk -v a="$t0" -v n="$now" -v s="$((step * SOAK_STEP))" 'BEGIN { d = a + s - n; print (d > 0 ? d : 0) }')"
	kill -0 "$lw" 2>/dev/null || fail "leakwatch exited during the soak (see $LOG)"
	kill -0 "$cs" 2>/dev/null || fail "the C server exited during the soak"
	kill -0 "$gs" 2>/dev/null || fail "the Go server exited during the soak"
	kill -0 "$cl" 2>/dev/null || fail "the Go client exited during the soak"
	bpf_ids >>"$W/bpf-ids"
	tk=$(cpu_ticks)
	read -r o a _ b _ <<<"$(cstat)"
	read -r r _ <<<"$(gstat)"
	el=$((step * SOAK_STEP))
	line=$(awk -v t="$el" -v s="$SOAK_STEP" -v rss="$(vm VmRSS)" -v hwm="$(vm VmHWM)" -v an="$(vm RssAnon)" \
		-v c="$(((tk - tk0)))" -v hz="$tck" -v o="$((o - o0))" -v a="$((a - a0))" \
		-v r="$((r - r0))" -v b="$b" 'BEGIN {
		printf "%d %d %d %d %.2f %.0f %.0f %.0f %.0f", t, rss, hwm, an, c / hz,
			o / s, a / s, r / s, b / 1024 }')
	echo "$line" >>"$SERIES"
	read -r t rss hwm an c o_s a_s r_s b_k <<<"$line"
	printf '%6ss %10s %10s %10s %9s %10s %11s %9s %11s\n' "$t" "$rss" "$hwm" "$an" "$c" "$o_s" "$a_s" "$r_s" "$b_k"
	tk0=$tk o0=$o a0=$a r0=$r
	[ "$el" -lt "$SECS" ] || break
done

# The end: the C server parks its threads and writes its books; leakwatch
# then reports twice (everything in flight drained), and is stopped.
reports() { grep -c '^== system at' "$LOG" || true; }
touch "$W/stop"
for _ in $(seq 300); do grep -qs '^DONE' "$W/exact" && break; sleep 0.1; done
grep -qs '^DONE' "$W/exact" || fail "the C server did not write its books"
n0=$(reports)
for _ in $(seq $((INTERVAL * 30))); do [ "$(reports)" -ge $((n0 + 2)) ] && break; sleep 0.1; done
[ "$(reports)" -ge $((n0 + 2)) ] || fail "leakwatch did not report after the C server parked"
kill -INT "$lw"
rc=0
for _ in $(seq 600); do kill -0 "$lw" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$lw" 2>/dev/null; then
	fail "leakwatch did not stop within 60 s of SIGINT"
fi
wait "$lw" || rc=$?
lw=""
[ "$rc" = 0 ] || fail "leakwatch exited $rc (see $LOG)"
read -r go_req go_err <<<"$(gstat)"
kill "$cl" "$cs" "$gs" 2>/dev/null || true
wait 2>/dev/null || true
cl="" cs="" gs=""

grep 'reports: drain' "$LOG" | sed 's/^leakwatch: /soak: leakwatch: /' || true
python3 scripts/soak_check.py --series "$SERIES" --exact "$W/exact" --report "$REPORT" \
	--bpf-ids "$W/bpf-ids" --interval "$INTERVAL" --go-requests "$go_req" --go-errors "$go_err" \
	--log "$LOG"
