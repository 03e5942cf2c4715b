# Sourced by bench.sh at its end: the descriptor tracking's cost, in ns
# per open+close pair (scripts/bench_fd.c, a launched command), for three
# kinds of pair: open("/dev/null") + close, an AF_UNIX socket + close, and
# pipe + both ends' close. Configurations:
#   none       no observer
#   floor      leakwatch --floor: an empty program on every syscall's exit
#              that reads the syscall's number, where the descriptor
#              program is (and the empty uprobes of the heap's floor)
#   leakwatch  leakwatch as it is by default, descriptors tracked
# BENCH_FD_ROUNDS interleaved rounds; the table shows each configuration's
# median, a ratio is the median of each round's (its runs are a second
# apart, so the machine's drift moves both alike). The target is on
# leakwatch / floor.
# Observed: every run exits 0; leakwatch's report (--json) has the kind's
# fd site, found by the function that opens, with the opens of the run; and
# one more run of each observer with kernel.bpf_stats_enabled (not timed:
# the statistics cost time on every program run) counts the floor's
# program's runs and gives the BPF time per pair.
# A kind with a run not observed has no verdict.
# Uses REPORT, STATE, unobserved, median and target from bench.sh.

FD_PAIRS=${BENCH_FD_PAIRS:-100000}
FD_ROUNDS=${BENCH_FD_ROUNDS:-$ROUNDS}
FD_KINDS="open socket pipe"
gcc -O2 -fno-omit-frame-pointer scripts/bench_fd.c -o build/bench_fd

FD_UNOBSERVED=build/bench-fd.unobserved
rm -f "$FD_UNOBSERVED"

# $1: a kind, the rest: what went wrong; that kind's target has no verdict
fd_unobserved() {
	echo "$1" >>"$FD_UNOBSERVED"
	unobserved "fd $1 ${*:2}"
}

# $1: a kind, the function of bench_fd.c that opens its descriptors
fd_fn() { echo "$1_pairs"; }

# $1: a kind. Opens seen at the kind's sites (of kind fd, the function in
# their stack), in the report.
fd_opens() {
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
fn = sys.argv[2]
print(sum(s.get("allocs", 0) for s in r["sites"] if s.get("kind") == "fd" and
	any((f.get("symbol") or "").split(".")[0] == fn for f in s.get("stack", []))))' \
		"$REPORT" "$(fd_fn "$1")" 2>/dev/null || echo 0
}

# $1: none, floor or leakwatch, $2: a kind. Prints bench_fd's ns/pair.
fd_run() {
	local rc=0 out got
	rm -f "$REPORT"
	case "$1" in
	none) out=$(build/bench_fd "$2" "$FD_PAIRS") || rc=$? ;;
	floor) out=$(./leakwatch --floor -i 60 -- build/bench_fd "$2" "$FD_PAIRS") || rc=$? ;;
	# held 1.5 s after the loop: the report at 1 s sees the site's last
	# descriptors open (a site with none open is not in the report)
	leakwatch) out=$(./leakwatch -i 1 -d 2 --json "$REPORT" -- build/bench_fd "$2" "$FD_PAIRS" 1.5) || rc=$? ;;
	esac
	if [ "$rc" != 0 ]; then
		fd_unobserved "$2" "$1 exited $rc"
	elif [ "$1" = leakwatch ]; then
		got=$(fd_opens "$2")
		[ "$got" -ge "$FD_PAIRS" ] ||
			fd_unobserved "$2" "leakwatch: its fd site ($(fd_fn "$2")) saw $got opens of at least $FD_PAIRS"
	fi
	echo "$out" | grep -E '^[0-9.]+$' | tail -n 1 || true
}

# $1: floor or leakwatch, $2: a kind; kernel.bpf_stats_enabled set. Prints
# the BPF ns per pair: the floor's sys_exit program's, leakwatch's every
# program's (both see every syscall of the machine during the run).
fd_bpf_ns() {
	local rc=0 out runs ns
	rm -f "$REPORT"
	case "$1" in
	floor)
		out=$(./leakwatch --floor -v -i 60 -- build/bench_fd "$2" "$FD_PAIRS" 2>&1 >/dev/null) || rc=$?
		read -r runs ns <<<"$(echo "$out" | awk '/bpf floor_sys_exit:/ {print $4, $6}')"
		;;
	leakwatch)
		out=$(./leakwatch -v -i 60 --json "$REPORT" -- build/bench_fd "$2" "$FD_PAIRS" 2>&1 >/dev/null) || rc=$?
		read -r runs ns <<<"$(echo "$out" | awk '/bpf total:/ {print $4, $6}')"
		;;
	esac
	# a pair is two syscalls at least, each a run of the program
	if [ "$rc" != 0 ]; then
		fd_unobserved "$2" "$1 (bpf_stats) exited $rc"
	elif [ -z "$runs" ] || [ "$runs" -lt $((2 * FD_PAIRS)) ]; then
		fd_unobserved "$2" "$1: its sys_exit program ran ${runs:-no} times for $FD_PAIRS pairs"
	else
		awk -v ns="$ns" -v n="$FD_PAIRS" 'BEGIN { printf "%.0f", ns / n }'
		return 0
	fi
	echo "-"
}

# $1, $2: ns/pair of each round; the median of the rounds' $1 / $2
fd_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, " "); split(b, y, " ")
		for (i = 1; i <= n; i++) if (x[i] > 0 && y[i] > 0) printf "%s ", x[i] / y[i]
	}' | median | awk '{ printf "%.2f", $1 }'
}

declare -A fs=()
for r in $(seq "$FD_ROUNDS"); do
	for k in $FD_KINDS; do
		for c in none floor leakwatch; do
			fs[$k $c]="${fs[$k $c]:-} $(fd_run "$c" "$k")"
		done
	done
done
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q kernel.bpf_stats_enabled=1
declare -A fb=()
for k in $FD_KINDS; do
	for c in floor leakwatch; do
		fb[$k $c]=$(fd_bpf_ns "$c" "$k")
	done
done
sysctl -q kernel.bpf_stats_enabled="$old_stats"

for k in $FD_KINDS; do
	case "$k" in
	open) what='open("/dev/null")+close' ;;
	socket) what="socket(AF_UNIX)+close" ;;
	pipe) what="pipe+close+close" ;;
	esac
	printf '\ndescriptors, %s\n%-16s %12s   %s\n' "$what" config "ns/pair" "runs"
	for c in none floor leakwatch; do
		printf '%-16s %12s  %s\n' "$c" "$(echo "${fs[$k $c]}" | median)" "${fs[$k $c]}"
	done
	r=$(fd_ratio "${fs[$k leakwatch]}" "${fs[$k floor]}")
	if grep -qx "$k" "$FD_UNOBSERVED" 2>/dev/null; then
		verdict="not observed"
	else
		verdict=$(target "$r" 1.15)
	fi
	echo "leakwatch / sys_exit floor = $r   (target <= 1.15: $verdict)"
	echo "leakwatch / none           = $(fd_ratio "${fs[$k leakwatch]}" "${fs[$k none]}")"
	echo "floor / none               = $(fd_ratio "${fs[$k floor]}" "${fs[$k none]}")"
	awk -v f="${fb[$k floor]}" -v l="${fb[$k leakwatch]}" 'BEGIN {
		printf "BPF ns per pair (bpf_stats run): floor %s, leakwatch %s", f, l
		if (f > 0 && l > 0) printf " (%.1fx)", l / f
		printf "\n"
	}'
done
unset fs fb
