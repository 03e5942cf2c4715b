# shellcheck shell=bash
# Sourced by bench.sh: the packaged-server case. Requests per second of a
# real Debian-packaged C web server under a load generator (wrk), for no
# observer, full heap tracking (leakwatch -p PID) and sampled tracking
# (leakwatch --sample 524288 -p PID), each attached to the running server
# after a warm-up; printed as ratios to no observer (higher is better), no
# target.
#
# The server is nginx, one foreground process (daemon off, master_process
# off, one worker) on a config generated under build/srvbench, serving a
# 7 KB page gzipped at level 1. nginx keeps its own pools, but it takes
# them from libc: per request 2 posix_memalign (each calling malloc
# inside, leakwatch's nested_calls) and 4 malloc, and as many frees: 6
# allocation calls per request as leakwatch's totals count them (and as
# bpftrace counted them once by function). lighttpd with mod_deflate
# makes 7 (without it almost none): about as many, so nginx, the more
# common server, stays. open_file_cache spares the open and close of
# the file per request, so what leakwatch costs here is its heap probes.
# Server and client on CPUs of their own when there are two.
# Uses REPORT, ROUNDS, observed, unobserved and median from bench.sh.

SERVER_SECONDS=${BENCH_SERVER_SECONDS:-8}
SERVER_CONNS=${BENCH_SERVER_CONNS:-8}
SERVER_SAMPLE=524288
SRV_DIR=$PWD/build/srvbench
SRV_LOG=build/bench-server.log

# Writes the config, the page and the port to serve on into SRV_DIR.
srv_setup() {
	local port
	rm -rf "$SRV_DIR"
	mkdir -p "$SRV_DIR/www" "$SRV_DIR/logs"
	# words that gzip to about a fifth: compression has real work to do
	python3 -c 'import random
random.seed(15)
w = "alpha beta gamma delta leak heap stack nginx server watch".split()
print("<html><body>" + " ".join(random.choice(w) for _ in range(1200)) + "</body></html>")' \
		>"$SRV_DIR/www/index.html"
	port=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	echo "$port" >"$SRV_DIR/port"
	cat >"$SRV_DIR/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $SRV_DIR/logs/nginx.pid;
error_log $SRV_DIR/logs/error.log;
events {
	worker_connections 256;
}
http {
	access_log off;
	client_body_temp_path $SRV_DIR/logs/body;
	proxy_temp_path $SRV_DIR/logs/proxy;
	fastcgi_temp_path $SRV_DIR/logs/fastcgi;
	uwsgi_temp_path $SRV_DIR/logs/uwsgi;
	scgi_temp_path $SRV_DIR/logs/scgi;
	default_type text/html;
	open_file_cache max=16;
	gzip on;
	gzip_min_length 0;
	gzip_comp_level 1;
	server {
		listen 127.0.0.1:$port;
		root $SRV_DIR/www;
	}
}
EOF
}

# $1: seconds. Prints "REQ_PER_S REQUESTS" (0 0 when wrk failed).
srv_load() {
	"${srv_cpin[@]}" wrk -t1 -c"$SERVER_CONNS" -d"$1"s -H 'Accept-Encoding: gzip' \
		"http://127.0.0.1:$(cat "$SRV_DIR/port")/index.html" 2>/dev/null |
		awk '/ requests in / { n = $1 } /^Requests\/sec:/ { v = $2 }
		     END { print (v && n ? v " " n : "0 0") }'
}

# The report's totals: heap_calls when the report has it (a sampled run
# counts every call it saw there), else "-".
srv_heap_calls() {
	python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["totals"].get("heap_calls", "-"))' "$REPORT" 2>/dev/null || echo -
}

# ns on CPU of a process, all threads (schedstat's first field): probe
# hits are charged to the server, and this moves less with the machine's
# other load than requests per second do
srv_cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { printf "%.0f\n", n }'; }

# $1: none, full or sample; prints "REQ_PER_S SERVER_CPU_US_PER_REQUEST"
# (0 0 when it failed). A subshell:
# its traps stop leakwatch and the server however the run ends.
srv_run() (
	local srv="" lw="" rc=0 v=0 n=0 calls c0 c1
	# shellcheck disable=SC2317 # run by the trap
	srv_stop() {
		if [ -n "$lw" ]; then
			kill -INT "$lw" 2>/dev/null || true
			wait "$lw" 2>/dev/null || true
		fi
		if [ -n "$srv" ]; then
			kill "$srv" 2>/dev/null || true
			wait "$srv" 2>/dev/null || true
		fi
	}
	trap srv_stop EXIT
	# stopped: clean up, then die of the signal so that the bench stops too
	trap 'trap - EXIT INT; srv_stop; kill -INT "$BASHPID"' INT
	trap 'trap - EXIT TERM; srv_stop; kill -TERM "$BASHPID"' TERM
	rm -f "$REPORT" "$SRV_LOG"
	# taskset execs nginx: its pid
	"${srv_spin[@]}" nginx -p "$SRV_DIR/" -e "$SRV_DIR/logs/error.log" \
		-c "$SRV_DIR/nginx.conf" >/dev/null 2>&1 &
	srv=$!
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$(cat "$SRV_DIR/port")") 2>/dev/null && break
		kill -0 "$srv" 2>/dev/null || break
		sleep 0.05
	done
	if ! kill -0 "$srv" 2>/dev/null; then
		unobserved "nginx $1: the server did not start (see $SRV_DIR/logs/error.log)"
		echo 0 0
		return
	fi
	srv_load 1 >/dev/null # warm-up: the first requests are no one's
	case "$1" in
	full) ./leakwatch -i 60 --json "$REPORT" -p "$srv" >"$SRV_LOG" 2>&1 & lw=$! ;;
	sample) ./leakwatch --sample "$SERVER_SAMPLE" -i 60 --json "$REPORT" -p "$srv" \
		>"$SRV_LOG" 2>&1 & lw=$! ;;
	esac
	if [ -n "$lw" ] && ! wait_watching "$lw" "$SRV_LOG"; then
		unobserved "nginx $1: leakwatch never said 'watching pid'"
	fi
	c0=$(srv_cpu_ns "$srv")
	read -r v n <<<"$(srv_load "$SERVER_SECONDS")"
	c1=$(srv_cpu_ns "$srv")
	[ "$n" -gt 0 ] || unobserved "nginx $1: wrk failed"
	if [ -n "$lw" ]; then
		kill -0 "$lw" 2>/dev/null || unobserved "nginx $1: leakwatch ended before the load did"
		kill -INT "$lw" 2>/dev/null || true
		wait "$lw" 2>/dev/null || rc=$?
		lw=""
		# every request's allocations were seen: nginx makes several each
		case "$1" in
		full) observed "leakwatch -p nginx" "$rc" heap_allocs "$n" ;;
		sample)
			calls=$(srv_heap_calls)
			if [ "$calls" = - ]; then
				observed "leakwatch --sample $SERVER_SAMPLE -p nginx" "$rc" "" 0
			else
				observed "leakwatch --sample $SERVER_SAMPLE -p nginx" "$rc" heap_calls "$n"
			fi
			;;
		esac
		echo "$1 $n $(python3 -c 'import json, sys
t = json.load(open(sys.argv[1]))["totals"]
print(t["heap_allocs"], t.get("heap_calls", "-"))' "$REPORT" 2>/dev/null || echo "- -")" \
			>>build/bench-server.seen
	fi
	awk -v v="$v" -v t="$((c1 - c0))" -v n="$n" \
		'BEGIN { printf "%s %.1f\n", v, (n > 0 ? t / n / 1e3 : 0) }'
)

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
	echo "bench: nginx or wrk not installed (scripts/deps.sh): server case skipped"
else
	read -r srv_scpu srv_ccpu <<<"$(two_cpus)"
	srv_spin=() srv_cpin=()
	if [ -n "$srv_scpu" ]; then
		srv_spin=(taskset -c "$srv_scpu")
		srv_cpin=(taskset -c "$srv_ccpu")
	fi
	# the help whole first: grep -q ending the pipe early could fail it
	srv_help=$(./leakwatch --help 2>&1 || true)
	case "$srv_help" in
	*--sample*) srv_configs="none full sample" ;;
	*)
		srv_configs="none full"
		echo "bench: --sample not built: sampled server run skipped"
		;;
	esac
	srv_setup
	rm -f build/bench-server.seen
	declare -A ss=() sm=() su=() sum=()
	for _ in $(seq "$ROUNDS"); do
		for c in $srv_configs; do
			read -r v us <<<"$(srv_run "$c")"
			ss[$c]="${ss[$c]:-} $v"
			su[$c]="${su[$c]:-} $us"
		done
	done
	for c in $srv_configs; do
		sm[$c]=$(echo "${ss[$c]}" | median)
		sum[$c]=$(echo "${su[$c]}" | median)
	done
	printf '\nPackaged C server: nginx %s, gzipped 7 KB page, wrk %d connections, %d s%s\n' \
		"$(nginx -v 2>&1 | sed 's,.*/,,')" "$SERVER_CONNS" "$SERVER_SECONDS" \
		"${srv_scpu:+ (server on CPU $srv_scpu, client on CPU $srv_ccpu)}"
	printf '%-16s %12s %18s   %s\n' config "req/s" "server CPU us/req" "req/s of each round"
	for c in $srv_configs; do
		printf '%-16s %12s %18s  %s\n' "$c" "${sm[$c]}" "${sum[$c]}" "${ss[$c]}"
	done
	for c in $srv_configs; do
		[ "$c" != none ] || continue
		what="leakwatch full"
		[ "$c" = full ] || what="leakwatch --sample $SERVER_SAMPLE"
		awk -v w="$what" -v n="${sm[none]}" -v f="${sm[$c]}" \
			-v un="${sum[none]}" -v uf="${sum[$c]}" 'BEGIN {
			printf "%s / none = %.2f   (by server CPU per request: %.2f)\n", w,
				(n > 0 ? f / n : 0), (uf > 0 ? un / uf : 0) }'
	done
	# heap calls per request, from the full runs' totals
	awk '$1 == "full" && $3 != "-" { n += $2; a += $3 }
		END { if (n) printf "    (full tracking saw %.1f allocations per request)\n", a / n }' \
		build/bench-server.seen
	unset ss sm su sum
fi
