# Sourced by bench.sh after its Go benchmarks: the Go heap's cost, as
# requests per second of an allocation-heavy net/http server
# (scripts/gohttp_heap.go) under load from a client of its own, for each
# way leakwatch reads a Go heap:
#   profile   built with net/http/pprof: the runtime's own memory profile,
#             read from outside (no heap probes)
#   sample    built without: the linker disabled the profile, leakwatch
#             samples the allocator's slow paths with uprobes
# Configurations, each build: none (no observer), heap (leakwatch -p
# --goroutines scan: the Go heap's mechanism, chosen as it would be, and the
# goroutine list without probes) and leakwatch (-p as it is by default: the
# goroutine probes too; net/http starts a goroutine per request, two traps
# each), each attached to the running server before the load starts. The
# targets are on heap / none: the cost of seeing the Go heap. BENCH_GOHEAP_ROUNDS interleaved rounds; a ratio is the
# median of each round's (its runs are a few seconds apart, so the
# machine's other load moves both alike); the targets are on
# leakwatch / none.
# Uses GO, REPORT, STATE, unobserved and median from bench.sh.

GOHEAP_ROUNDS=${BENCH_GOHEAP_ROUNDS:-5}
GOHEAP_SECONDS=${BENCH_GOHEAP_SECONDS:-3} # the client's, after 0.5 s of warm-up
GOHEAP_CONNS=${BENCH_GOHEAP_CONNS:-8}
GOHEAP_LOG=build/bench-goheap.log
GOHEAP_FILE=build/gohttp_heap.url

# Go builds the files of a directory by their tags (not those named).
rm -rf build/gohttp_heap.src
mkdir -p build/gohttp_heap.src
cp scripts/gohttp_heap*.go build/gohttp_heap.src/
goheap_home=$(mktemp -d)
for tags in "" withpprof; do
	(cd build/gohttp_heap.src && HOME=$goheap_home GOCACHE=$OLDPWD/build/gocache \
		GO111MODULE=off CGO_ENABLED=0 "$GO" build ${tags:+-tags $tags} \
		-o "../gohttp_heap${tags:+_$tags}" .)
done
rm -rf "$goheap_home"

# Server and client on CPUs of their own when there are two; leakwatch
# is left to the scheduler.
read -r goheap_scpu goheap_ccpu <<<"$(two_cpus)"
goheap_spin=() goheap_cpin=()
if [ -n "$goheap_scpu" ]; then
	goheap_spin=(taskset -c "$goheap_scpu")
	goheap_cpin=(taskset -c "$goheap_ccpu")
fi

# ns on CPU, all threads (schedstat's first field)
goheap_cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { printf "%.0f\n", n }'; }

# $1: profile or sample, the rest: what went wrong; that mode's line fails
goheap_unobserved() {
	echo "$1" >>build/bench-goheap.unobserved
	unobserved "Go heap ${*:2}"
}

# $1: profile or sample, $2: none, heap or leakwatch. Prints "REQ_PER_S
# SERVER_CPU_US_PER_REQUEST LEAKWATCH_CPU_PERCENT" (the last "-" when none
# ran). The server's CPU per request, probe hits included, is what the
# machine's other load moves least.
goheap_run() {
	local bin=build/gohttp_heap srv lw="" pid url v n s0 s1 t0=0 t1 w0 w1 cpu=- rc=0
	[ "$1" = profile ] && bin=build/gohttp_heap_withpprof
	rm -f "$GOHEAP_FILE" "$REPORT" "$GOHEAP_LOG"
	"${goheap_spin[@]}" "$bin" server "$GOHEAP_FILE" >/dev/null &
	srv=$! # taskset execs the server: its pid
	for _ in $(seq 100); do [ -s "$GOHEAP_FILE" ] && break; sleep 0.05; done
	read -r pid url <"$GOHEAP_FILE"
	# --json -: the report on stdout, the text (its "watching pid" line
	# among it) on stderr, unbuffered
	case "$2" in
	heap) ./leakwatch --goroutines scan -i 2 --json - -p "$pid" >"$REPORT" 2>"$GOHEAP_LOG" & lw=$! ;;
	leakwatch) ./leakwatch -i 2 --json - -p "$pid" >"$REPORT" 2>"$GOHEAP_LOG" & lw=$! ;;
	esac
	if [ -n "$lw" ] && ! wait_watching "$lw" "$GOHEAP_LOG"; then
		goheap_unobserved "$1" "$1 $2: leakwatch never said 'watching pid'"
	fi
	if [ -n "$lw" ]; then t0=$(goheap_cpu_ns "$lw"); fi
	w0=$(date +%s.%N)
	s0=$(goheap_cpu_ns "$srv")
	read -r v n <<<"$("${goheap_cpin[@]}" "$bin" client "$url" "$GOHEAP_CONNS" "$GOHEAP_SECONDS" ||
		echo 0 0)"
	s1=$(goheap_cpu_ns "$srv")
	[ "${n:-0}" -gt 0 ] || goheap_unobserved "$1" "$1 $2: the client failed"
	w1=$(date +%s.%N)
	if [ -n "$lw" ]; then
		t1=$(goheap_cpu_ns "$lw")
		kill -0 "$lw" 2>/dev/null || goheap_unobserved "$1" "$1 $2: leakwatch ended before the load did"
		kill -INT "$lw" 2>/dev/null
		wait "$lw" 2>/dev/null || rc=$?
		[ "$rc" = 0 ] || goheap_unobserved "$1" "$1 $2: leakwatch exited $rc"
		cpu=$(awk -v t="$((t1 - t0))" -v a="$w0" -v b="$w1" \
			'BEGIN { printf "%.1f", 100 * t / 1e9 / (b - a) }')
	fi
	if [ -n "$lw" ]; then goheap_check "$1"; fi
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null || true
	echo "${v:-0} $(awk -v t="$((s1 - s0))" -v n="${n:-0}" 'BEGIN { printf "%.1f", (n > 0 ? t / n / 1e3 : 0) }') $cpu"
}

# $1: profile or sample. The report must show the Go heap (sites of
# source go holding bytes), by the mechanism meant: the profile's run took
# no samples, the sampling run took some.
goheap_check() {
	local sites bytes samples
	read -r sites bytes samples <<<"$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
g = [s for s in r["sites"] if s.get("source") == "go" and s["bytes"] > 0]
print(len(g), sum(s["bytes"] for s in g), r["stats"].get("go_heap_samples", 0))' \
		"$REPORT" 2>/dev/null || echo "0 0 0")"
	if [ "$sites" = 0 ]; then
		goheap_unobserved "$1" "$1: no Go heap site holding bytes in the report"
	elif [ "$1" = profile ] && [ "$samples" != 0 ]; then
		goheap_unobserved "$1" "profile: $samples samples taken (sampled, not read from the profile)"
	elif [ "$1" = sample ] && [ "$samples" = 0 ]; then
		goheap_unobserved "$1" "sample: go_heap_samples 0"
	fi
	echo "$1 $sites $bytes $samples" >>build/bench-goheap.seen
}

# $1, $2: req/s of each round; the median of the rounds' $1 / $2
goheap_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, " "); split(b, y, " ")
		for (i = 1; i <= n; i++) printf "%s ", (y[i] > 0 ? x[i] / y[i] : 0)
	}' | median | awk '{ printf "%.2f", $1 }'
}

# $1: a ratio, $2: its floor (higher is better); counts it met or missed
goheap_target() {
	if awk -v r="$1" -v t="$2" 'BEGIN { exit !(r >= t) }'; then
		echo "met" >>"$STATE"
		echo "met"
	else
		echo "missed" >>"$STATE"
		echo "MISSED"
	fi
}

rm -f build/bench-goheap.unobserved build/bench-goheap.seen
declare -A grs=() gus=() gcpu=()
for r in $(seq "$GOHEAP_ROUNDS"); do
	for m in profile sample; do
		for c in none heap leakwatch; do
			read -r v us cpu <<<"$(goheap_run "$m" "$c")"
			grs[$m $c]="${grs[$m $c]:-} $v"
			gus[$m $c]="${gus[$m $c]:-} $us"
			gcpu[$m $c]="${gcpu[$m $c]:-} $cpu"
		done
	done
done
printf '\nGo heap: an allocation-heavy net/http server, %d connections from a client process%s\n' \
	"$GOHEAP_CONNS" "${goheap_scpu:+ (server on CPU $goheap_scpu, client on CPU $goheap_ccpu)}"
printf '%-20s %8s %18s %14s   %s\n' config "req/s" "server CPU us/req" "leakwatch CPU" "req/s of each round"
for m in profile sample; do
	for c in none heap leakwatch; do
		printf '%-20s %8s %18s %14s  %s\n' "$m $c" "$(echo "${grs[$m $c]}" | median)" \
			"$(echo "${gus[$m $c]}" | median)" \
			"$([ "$c" = none ] && echo - || echo "$(echo "${gcpu[$m $c]}" | median)%")" "${grs[$m $c]}"
	done
done
for m in profile sample; do
	none=$(echo "${grs[$m none]}" | median)
	lw=$(echo "${grs[$m leakwatch]}" | median)
	heap=$(echo "${grs[$m heap]}" | median)
	r=$(goheap_ratio "${grs[$m heap]}" "${grs[$m none]}")
	rd=$(goheap_ratio "${grs[$m leakwatch]}" "${grs[$m none]}")
	# the same from the server's CPU per request (none's over heap's)
	rc=$(goheap_ratio "${gus[$m none]}" "${gus[$m heap]}")
	if [ "$m" = profile ]; then
		what="profile (pprof imported)"
		t=0.98
	else
		what="sampling probes"
		t=0.90
	fi
	if grep -qx "$m" build/bench-goheap.unobserved 2>/dev/null; then
		verdict="not observed"
	else
		verdict=$(goheap_target "$r" "$t")
	fi
	printf 'go heap, %s: %s of no observer (target >= %s): %s\n' "$what" "$r" "$t" "$verdict"
	printf '    (median %s vs %s req/s; by server CPU per request %s; leakwatch by default, goroutine probes too: %s, %s req/s)\n' \
		"$heap" "$none" "$rc" "$rd" "$lw"
	awk -v m="$m" '$1 == m { n++; s += $2; b += $3; k += $4 }
		END { if (n) printf "    (seen per run: %.0f Go heap sites holding %.1f MiB, go_heap_samples %.0f)\n",
			s / n, b / n / 1048576, k / n }' build/bench-goheap.seen
done
