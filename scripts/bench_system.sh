# Sourced by bench.sh: the system-wide mode's costs.
#   triage    a malloc-heavy process not zoomed, with and without
#             leakwatch -a watching the machine: it must pay nothing per call
#   processes a run over 200 processes: leakwatch's peak RSS and CPU per report
#   scale     one process, 1 M live allocations over 50 k stacks: the same
# Uses observed/unobserved/target/median from bench.sh.

SYS_PAIRS=${BENCH_SYS_PAIRS:-30000000}

# $1: what ran, $2: leakwatch -v's stderr: "N reports: ... X ms of CPU each"
report_cpu() {
	sed -n 's/.* reports: drain + model + symbolize + views \([0-9.]*\) ms.*/\1/p' "$2" | tail -n 1
}

triage_round() {
	local rc=0 lw v out=build/bench-sys.log
	case "$1" in
	none) v=$(build/bench "$SYS_PAIRS" | tail -n 1) ;;
	system)
		./leakwatch -a -i 0.2 -n 100000 >"$out" 2>&1 &
		lw=$!
		sleep 3 # its first scan and triage are done
		v=$(build/bench "$SYS_PAIRS" | tail -n 1)
		kill -0 "$lw" 2>/dev/null || unobserved "leakwatch -a ended before the bench"
		kill -INT "$lw"
		wait "$lw" || rc=$?
		observed "leakwatch -a (triage)" "$rc" "" 0
		# it watched the machine while the bench ran, and left it alone
		grep -q ' bench ' "$out" || unobserved "leakwatch -a never listed the bench process"
		grep -q 'zoom pid [0-9]* (bench)' "$out" && unobserved "leakwatch -a zoomed the bench (it does not grow)"
		;;
	esac
	echo "$v"
}

declare -A ts=()
for r in $(seq "$ROUNDS"); do
	for c in none system; do
		ts[$c]="${ts[$c]:-} $(triage_round "$c")"
	done
done
tn=$(echo "${ts[none]}" | median)
tw=$(echo "${ts[system]}" | median)
printf '\nSystem-wide triage: a malloc-heavy process not zoomed (ns/pair)\n'
printf '%-16s %12s  %s\n' none "$tn" "${ts[none]}" "leakwatch -a" "$tw" "${ts[system]}"
r=$(awk -v a="$tw" -v b="$tn" 'BEGIN { printf "%.3f", a / b }')
echo "watched / alone = $r   (target <= 1.02, i.e. >= 0.98 of its speed: $(target "$r" 1.02))"

# --- 200 processes
pids=()
for _ in $(seq 200); do
	sleep 600 &
	pids+=($!)
done
rc=0
/usr/bin/time -f '%M' -o build/bench-sys.time ./leakwatch -v -a -i 1 -d 10 \
	--json "$REPORT" >/dev/null 2>build/bench-sys.err || rc=$?
observed "leakwatch -a over 200 processes" "$rc" "" 0
kill "${pids[@]}" 2>/dev/null || true
wait "${pids[@]}" 2>/dev/null || true
nproc=$(python3 -c 'import json, sys
print(len(json.load(open(sys.argv[1]))["processes"]))' "$REPORT" 2>/dev/null || echo 0)
[ "$nproc" -ge 200 ] || unobserved "leakwatch -a listed $nproc processes, 200 started"
rss=$(awk '{ printf "%.0f", $1 / 1024 }' build/bench-sys.time)
cpu=$(report_cpu "200 processes" build/bench-sys.err)
printf '\nSystem-wide over %d processes: peak RSS %s MiB (target <= 150: %s), ' \
	"$nproc" "$rss" "$(target "$rss" 150)"
printf 'CPU per report %s ms (target <= 250: %s)\n' "${cpu:-?}" "$(target "${cpu:-9999}" 250)"

# --- one process, 1 M live allocations over 50 k stacks
rc=0
/usr/bin/time -f '%M' -o build/bench-sys.time ./leakwatch -v -i 2 -d 20 \
	--max-allocs 2000000 --json "$REPORT" -- build/bench_stacks 50000 20 \
	>/dev/null 2>build/bench-sys.err || rc=$?
pkill -f build/bench_stacks || true # launched, it outlives leakwatch
observed "leakwatch on 1 M allocations" "$rc" heap_allocs 1000000
read -r nsites lost <<<"$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(sum(1 for s in r["sites"] if s["kind"] == "heap"),
      r["drops"]["site_map_full"] + r["drops"]["alloc_map_full"])' "$REPORT" 2>/dev/null || echo "0 0")"
[ "$nsites" -ge 50000 ] || unobserved "1 M allocations: $nsites heap sites of 50000"
rss=$(awk '{ printf "%.0f", $1 / 1024 }' build/bench-sys.time)
cpu=$(report_cpu "1 M allocations" build/bench-sys.err)
printf '\n1 M live allocations over %s stacks (%s lost): peak RSS %s MiB (target <= 150: %s), ' \
	"$nsites" "$lost" "$rss" "$(target "$rss" 150)"
printf 'CPU per report %s ms (target <= 250: %s)\n' "${cpu:-?}" "$(target "${cpu:-9999}" 250)"
