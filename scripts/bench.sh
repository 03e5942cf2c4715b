#!/usr/bin/env bash
# make bench: ns per malloc+free pair, as ratios measured in one run:
#   none          no observer
#   memleak floor empty programs on memleak's hook set (malloc entry and
#                 return, free entry), all on the functions' first byte
#   own floor     empty programs on leakwatch's own probe placements
#   leakwatch     the real thing
#   sampled       leakwatch --sample 524288: byte-weighted sampling, the
#                 calls not sampled paying their entry probe only
# Each configuration runs ROUNDS times, interleaved; the median counts.
# Then Go: ns per goroutine (spawn-and-exit loop) and per request (a local
# net/http server under load from a local client), for no observer, the
# bare floor of leakwatch's goroutine probes, and leakwatch.
# Then a packaged C server (nginx under wrk, scripts/bench_server.sh):
# requests per second with leakwatch attached, full and sampled.
# Every observed run must have been observed: it exits 0, and leakwatch's
# own report (--json totals) counts the work (N allocations, the
# goroutines spawned); a configuration that was not is reported loudly and
# fails the bench. The last line sums up the targets met and missed.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_PAIRS:-20000}
ROUNDS=${BENCH_ROUNDS:-5}
SAMPLE=${BENCH_SAMPLE:-524288}
mkdir -p build
gcc -O2 -fno-omit-frame-pointer scripts/bench.c -o build/bench
gcc -O2 -fomit-frame-pointer scripts/bench.c -o build/bench_nofp
g++ -O2 scripts/bench_cxx.cc -o build/bench_cxx

REPORT=build/bench-report.json
# verdicts go to a file: the functions below run in command substitutions
STATE=build/bench-verdicts
: >"$STATE"

unobserved() {
	echo "bench: NOT OBSERVED: $*" >&2
	echo "unobserved $*" >>"$STATE"
}

# $1: what ran, $2: its exit status, $3: totals key, $4: at least this
observed() {
	local got
	if [ "$2" != 0 ]; then
		unobserved "$1 exited $2"
		return
	fi
	[ -n "$3" ] || return 0
	got=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["totals"][sys.argv[2]])' "$REPORT" "$3" 2>/dev/null || echo 0)
	if [ "$got" -lt "$4" ]; then
		unobserved "$1 saw $got $3 of at least $4"
	fi
}

# $1: a ratio, $2: its target; counts it met or missed
target() {
	if awk -v r="$1" -v t="$2" 'BEGIN { exit !(r <= t) }'; then
		echo "met" >>"$STATE"
		echo "met"
	else
		echo "missed" >>"$STATE"
		echo "MISSED"
	fi
}

run() {
	local rc=0 out
	rm -f "$REPORT"
	case "$1" in
	none) out=$("$BIN" "$N") || rc=$? ;;
	memleak) out=$(./leakwatch --floor=memleak -i 60 -- "$BIN" "$N") || rc=$? ;;
	own) out=$(./leakwatch --floor=own -i 60 -- "$BIN" "$N") || rc=$? ;;
	leakwatch) out=$(./leakwatch -i 60 --json "$REPORT" -- "$BIN" "$N") || rc=$? ;;
	sampled) out=$(./leakwatch --sample "$SAMPLE" -i 60 --json "$REPORT" -- "$BIN" "$N") || rc=$? ;;
	esac
	# sampled: heap_allocs is an estimate; heap_calls counts the calls seen
	observed "$1 on $BIN" "$rc" "$(case "$1" in leakwatch) echo heap_allocs ;; sampled) echo heap_calls ;; esac)" "$N"
	echo "$out"
}

# $1: a leakwatch started in the background, $2: its output: waits (up
# to 10 s) until it says it is watching; fails when it never does.
wait_watching() {
	for _ in $(seq 200); do
		grep -qs 'watching pid' "$2" && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	grep -qs 'watching pid' "$2"
}

# The first two CPUs this bench may use ("" "" with only one): the
# server's and its client's, so they do not take turns on one.
two_cpus() {
	python3 -c 'import os
c = sorted(os.sched_getaffinity(0)); print(*(c[:2] if len(c) > 1 else ["", ""]))'
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# $1: title, $2: the workload binary. In C++ the same probes serve: the
# walk goes through operator new (no frame pointers) by its CFI rules.
pairs() {
	local c r v
	local -A samples=() med=()
	local configs="none memleak own leakwatch sampled"
	BIN=$2
	for r in $(seq "$ROUNDS"); do
		for c in $configs; do
			v=$(run "$c" | grep -E '^[0-9.]+$' | tail -n 1)
			samples[$c]="${samples[$c]:-} $v"
		done
	done
	for c in $configs; do
		med[$c]=$(echo "${samples[$c]}" | median)
	done
	printf '\n%s\n%-16s %12s   %s\n' "$1" config "ns/pair" "runs"
	for c in $configs; do
		printf '%-16s %12s  %s\n' "$c" "${med[$c]}" "${samples[$c]}"
	done
	r1=$(awk -v a="${med[leakwatch]}" -v b="${med[memleak]}" 'BEGIN { printf "%.2f", a / b }')
	r2=$(awk -v a="${med[leakwatch]}" -v b="${med[own]}" 'BEGIN { printf "%.2f", a / b }')
	echo "leakwatch / memleak floor = $r1   (target <= 0.50: $(target "$r1" 0.50))"
	echo "leakwatch / own floor     = $r2   (target <= 1.15: $(target "$r2" 1.15))"
	r3=$(awk -v a="${med[sampled]}" -v b="${med[memleak]}" 'BEGIN { printf "%.2f", a / b }')
	echo "sampled / memleak floor   = $r3   (--sample $SAMPLE; target <= 0.33: $(target "$r3" 0.33))"
	awk -v s="${med[sampled]}" -v l="${med[leakwatch]}" 'BEGIN {
		printf "sampled / leakwatch       = %.2f\n", s / l
	}'
	awk -v none="${med[none]}" -v ml="${med[memleak]}" -v own="${med[own]}" 'BEGIN {
		printf "own floor / memleak floor = %.2f\n", own / ml
		printf "memleak floor / none      = %.1f\n", ml / none
	}'
}

pairs "C: malloc+free" build/bench
pairs "C, no frame pointers: malloc+free" build/bench_nofp
pairs "C++: new[]+delete[]" build/bench_cxx

# --- The unwind tables' walk against the frame-pointer walk, in BPF run
# time per pair (kernel.bpf_stats_enabled): the same program DEPTH calls
# deep, built with frame pointers and walked by them (--unwind fp), and
# built without and walked by its tables. The table walk also goes on
# through libc's frames, where the frame-pointer walk stops.
DEPTH=${BENCH_DEPTH:-8}
bpf_ns() {
	local out runs ns
	out=$(./leakwatch -v "$@" 2>&1 >/dev/null)
	runs=$(echo "$out" | awk '/bpf alloc_exit:/ {print $4}')
	ns=$(echo "$out" | awk '/bpf total:/ {print $6}')
	# observed for real: every malloc of the run hit the exit probe
	if [ -z "$runs" ] || [ "$runs" -lt "$N" ]; then
		unobserved "leakwatch $* saw ${runs:-no} allocations of $N"
		return 0
	fi
	echo "$ns"
}
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q kernel.bpf_stats_enabled=1
declare -A ws=()
for r in $(seq "$ROUNDS"); do
	ws[fp]="${ws[fp]:-} $(bpf_ns --unwind fp -i 60 -- build/bench "$N" "$DEPTH")"
	ws[tables]="${ws[tables]:-} $(bpf_ns -i 60 -- build/bench_nofp "$N" "$DEPTH")"
done
sysctl -q kernel.bpf_stats_enabled="$old_stats"
printf '\nstack walk, %d calls deep: BPF ns per malloc+free pair\n' "$DEPTH"
for c in fp tables; do
	printf '%-16s %12s  %s\n' "$c" "$(echo "${ws[$c]}" | median | awk -v n="$N" '{printf "%.0f", $1 / n}')" "${ws[$c]}"
done
r=$(awk -v fp="$(echo "${ws[fp]}" | median)" -v t="$(echo "${ws[tables]}" | median)" \
	'BEGIN { printf "%.2f", t / fp }')
echo "tables (no frame pointers) / frame pointers = $r   (target <= 1.30: $(target "$r" 1.30))"

# --- What the tables cost for a process mapping many libraries.
python3 -c "import ssl, sqlite3, ctypes, lzma, bz2, readline, curses, zlib, decimal, \
hashlib, xml.parsers.expat, uuid, json, socket, mmap, unicodedata, asyncio, dbm, time; \
print(flush=True); time.sleep(60)" >/dev/null &
py=$!
sleep 2
nlibs=$(awk '$2 ~ /x/ && $6 ~ /^\// {print $6}' "/proc/$py/maps" | sort -u | wc -l)
t0=$(date +%s.%N)
rc=0
out=$(./leakwatch -v -i 60 -d 0.1 -p "$py" 2>&1) || rc=$?
t1=$(date +%s.%N)
observed "leakwatch -p python3" "$rc" "" 0
kill "$py"
printf '\nunwind tables for python3 mapping %d files: attach and report %.2f s\n%s\n' \
	"$nlibs" "$(echo "$t1 - $t0" | bc)" "$(echo "$out" | grep 'unwind tables:')"

# --- The whole system: what triage costs, and the scale of one run.
gcc -O2 -fno-omit-frame-pointer scripts/bench_stacks.c -o build/bench_stacks
source scripts/bench_system.sh
# --- A packaged C server: nginx under wrk.
source scripts/bench_server.sh

# --- Go: goroutine churn
GO=${BENCH_GO:-/usr/lib/go-1.23/bin/go}
summary() {
	local met missed unobs
	met=$(grep -c '^met' "$STATE" || true)
	missed=$(grep -c '^missed' "$STATE" || true)
	unobs=$(grep -c '^unobserved' "$STATE" || true)
	echo
	grep '^unobserved' "$STATE" | sed 's/^unobserved/  not observed:/' || true
	echo "bench: targets met: $met, missed: $missed; runs not observed: $unobs"
	[ "$unobs" = 0 ]
}
if [ ! -x "$GO" ]; then
	echo "bench: no Go toolchain at $GO: Go benchmarks skipped"
	summary
	exit $?
fi
HOME=$PWD/build GOCACHE=$PWD/build/gocache "$GO" build -o build/gobench scripts/gobench.go

gospawn() {
	local rc=0 out
	rm -f "$REPORT"
	case "$1" in
	none) out=$(build/gobench spawn "$2") || rc=$? ;;
	floor) out=$(./leakwatch --floor -i 60 -- build/gobench spawn "$2") || rc=$? ;;
	leakwatch) out=$(./leakwatch -i 60 --json "$REPORT" -- build/gobench spawn "$2") || rc=$? ;;
	esac
	observed "Go spawn $1" "$rc" "$([ "$1" = leakwatch ] && echo goroutines_created)" "$2"
	echo "$out"
}

# The server runs observed (or not); the client is a process of its own.
gohttp() {
	local f=build/gobench.url pid url lw=""
	# before leakwatch starts: it opens its --json file at once
	rm -f "$f" "$REPORT"
	case "$1" in
	none) build/gobench serve "$f" & ;;
	floor) ./leakwatch --floor -i 60 -- build/gobench serve "$f" >build/bench-lw.log 2>&1 & lw=$! ;;
	leakwatch) ./leakwatch -i 60 --json "$REPORT" -- build/gobench serve "$f" >build/bench-lw.log 2>&1 & lw=$! ;;
	esac
	for _ in $(seq 100); do [ -s "$f" ] && break; sleep 0.1; done
	read -r pid url <"$f"
	build/gobench load "$url" "$2"
	if [ -n "$lw" ]; then
		# still attached at the end of the load, then stopped cleanly
		local rc=0
		kill -0 "$lw" 2>/dev/null || unobserved "Go http $1: leakwatch ended before the load did"
		kill -INT "$lw"
		wait "$lw" 2>/dev/null || rc=$?
		observed "Go http $1" "$rc" "$([ "$1" = leakwatch ] && echo goroutines_created)" 1
	fi
	kill "$pid" 2>/dev/null
	wait 2>/dev/null || true
}

gorun() {
	case "$2" in
	spawn) gospawn "$1" "$3" ;;
	http) gohttp "$1" "$3" ;;
	esac
}
for work in "spawn ${BENCH_SPAWNS:-100000}" "http ${BENCH_REQUESTS:-20000}"; do
	set -- $work
	declare -A gs=()
	for r in $(seq "$ROUNDS"); do
		for c in none floor leakwatch; do
			v=$(gorun "$c" "$1" "$2" 2>/dev/null | grep -E '^[0-9.]+$' | tail -n 1)
			gs[$c]="${gs[$c]:-} $v"
		done
	done
	declare -A gm=()
	for c in none floor leakwatch; do
		gm[$c]=$(echo "${gs[$c]}" | median)
	done
	unit=$([ "$1" = spawn ] && echo "ns/goroutine" || echo "ns/request")
	printf '\nGo %s: %s\n' "$1" "$unit"
	for c in none floor leakwatch; do
		printf '%-16s %12s  %s\n' "$c" "${gm[$c]}" "${gs[$c]}"
	done
	r=$(awk -v fl="${gm[floor]}" -v lw="${gm[leakwatch]}" 'BEGIN { printf "%.2f", lw / fl }')
	echo "leakwatch / goroutine-probe floor = $r   (target <= 1.15: $(target "$r" 1.15))"
	awk -v none="${gm[none]}" -v lw="${gm[leakwatch]}" 'BEGIN {
		printf "leakwatch / none                  = %.2f\n", lw / none
	}'
	unset gs gm
done
source scripts/bench_goheap.sh
source scripts/bench_fd.sh
summary
