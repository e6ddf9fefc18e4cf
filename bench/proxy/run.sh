#!/usr/bin/env bash
# The proxy benchmark: the same load on loopback straight to the backend, through HAProxy (mode tcp,
# option splice-auto) and through apivip's proxy (epoll transport and io_uring transport), in one run.
# Prints a table with absolute figures and the ratio apivip/HAProxy and writes it into
# bench/README.md with the date and the machine. Usage, as root on Debian/Ubuntu:
#   bench/proxy/run.sh
# Installs haproxy, iperf3, wrk, perf and openssl when missing. Takes about twelve minutes. Everything
# listens on 127.0.0.1 only. JAVA_OPTS passes options to the Java parts (default: the heap and collector the
# packaged launcher gives the daemon, packaging/deb/src/deb/bin/apivip).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

IPERF_SECONDS=5
WRK_SECONDS=8
# apivip runs in a JVM, whose compiler needs load for a while before the code is fast: every target
# gets the same warm-up before it is measured (a daemon in service is warm).
WARMUP_SECONDS=40
IDLE_CONNECTIONS=10000

# ---- what it needs -------------------------------------------------------------------------------

declare -A PACKAGES=([haproxy]=haproxy [iperf3]=iperf3 [wrk]=wrk [javac]=openjdk-17-jdk-headless [mvn]=maven [ss]=iproute2 [perf]=linux-perf)
missing=()
for command in "${!PACKAGES[@]}"; do
  command -v "$command" >/dev/null 2>&1 || [[ -x /usr/sbin/$command ]] || missing+=("${PACKAGES[$command]}")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bench: missing packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "bench: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin"

# 10,000 proxied connections are 20,000 sockets in the proxy alone. Where the hard limit of open
# files cannot be raised (a container without CAP_SYS_RESOURCE), hold as many as fit and say so.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fitting=$((($(ulimit -n) - 500) / 2))
if ((fitting < IDLE_CONNECTIONS)); then
  echo "bench: at most $(ulimit -n) open files here: holding $fitting idle connections instead of $IDLE_CONNECTIONS" >&2
  IDLE_CONNECTIONS=$fitting
fi

echo "bench: building apivip" >&2
mvn -B -ntp -q -pl lb-daemon,bench -am package -DskipTests
jar=$root/lb-daemon/target/apivip.jar
bench_jar=$root/bench/target/apivip-bench.jar

work=$(mktemp -d)
declare -A pids=()
cleanup() {
  for name in "${!pids[@]}"; do
    kill "${pids[$name]}" 2>/dev/null || true
  done
  for name in "${!pids[@]}"; do
    wait "${pids[$name]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

exec_bench_java() { # only as spawn's command, so that the recorded pid is the JVM's
  # shellcheck disable=SC2086
  exec java ${JAVA_OPTS:--Xms64m -Xmx256m -XX:+UseG1GC -XX:MaxGCPauseMillis=20} -cp "$jar:$bench_jar" io.apivip.bench.proxy.ProxyBench "$@"
}

# ---- processes -----------------------------------------------------------------------------------

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

spawn() { # NAME COMMAND...: runs in the background, output in $work/NAME.log
  local name=$1
  shift
  : >"$work/$name.log" # before it starts: await_line must not find the previous run's lines
  "$@" >>"$work/$name.log" 2>&1 &
  pids[$name]=$!
}

stop() {
  local name=$1
  kill "${pids[$name]}" 2>/dev/null || true
  wait "${pids[$name]}" 2>/dev/null || true
  unset "pids[$name]"
}

await_line() { # NAME TEXT: until the log of NAME shows TEXT, at most 60 s
  for _ in $(seq 600); do
    grep -q "$2" "$work/$1.log" 2>/dev/null && return
    kill -0 "${pids[$1]}" 2>/dev/null || { cat "$work/$1.log" >&2; echo "bench: $1 died" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench: $1 did not print '$2'" >&2
  exit 1
}

await_listening() { # NAME PORT
  for _ in $(seq 300); do
    [[ -n $(ss -Hltn "sport = :$2") ]] && return
    sleep 0.1
  done
  echo "bench: $1 does not listen on $2" >&2
  exit 1
}

start_haproxy() { # NAME LISTEN_PORT BACKEND_PORT
  # No maxconn: HAProxy derives it from the open-files limit (and refuses to start above it).
  cat >"$work/$1.cfg" <<EOF
global
defaults
    mode tcp
    timeout connect 1s
    timeout client 1h
    timeout server 1h
    option splice-auto
listen bench
    bind 127.0.0.1:$2
    server backend 127.0.0.1:$3
EOF
  spawn "$1" haproxy -db -f "$work/$1.cfg"
  await_listening "$1" "$2"
}

start_apivip() { # NAME LISTEN_PORT BACKEND_PORT RELAY (copy or io_uring)
  spawn "$1" exec_bench_java proxy "$2" "$3" "$4"
  await_line "$1" ready
}

rss_mib() { # PID
  awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}

load_at_start=$(cut -d' ' -f1 /proc/loadavg)
results=$work/results
record() { # TARGET METRIC VALUE
  echo "$1 $2 $3" >>"$results"
  printf 'bench: %-14s %-18s %s\n' "$1" "$2" "$3" >&2
}

TARGETS=(direct haproxy apivip apivip-uring)
APIVIPS=(apivip apivip-uring)
declare -A relay=([apivip]=copy [apivip-uring]=io_uring)

start_proxies() { # BACKEND_PORT: HAProxy and every apivip variant in front of it, on port[TARGET]
  start_haproxy haproxy "${port[haproxy]}" "$1"
  for target in "${APIVIPS[@]}"; do
    start_apivip "$target" "${port[$target]}" "$1" "${relay[$target]}"
  done
}

stop_proxies() {
  stop haproxy
  for target in "${APIVIPS[@]}"; do
    stop "$target"
  done
}

# ---- throughput: iperf3 --------------------------------------------------------------------------

iperf_port=$(free_port)
spawn iperf3-server iperf3 -s -B 127.0.0.1 -p "$iperf_port"
await_listening iperf3-server "$iperf_port"
declare -A port=([direct]=$iperf_port [haproxy]=$(free_port) [apivip]=$(free_port) [apivip-uring]=$(free_port))
start_proxies "$iperf_port"

gbits() {
  python3 -c 'import json, sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}
for target in "${TARGETS[@]}"; do
  iperf3 -c 127.0.0.1 -p "${port[$target]}" -t 5 -P 8 >/dev/null
done
for streams in 1 8; do
  for target in "${TARGETS[@]}"; do
    value=$(iperf3 -c 127.0.0.1 -p "${port[$target]}" -t "$IPERF_SECONDS" -O 1 -P "$streams" -J | gbits)
    record "$target" "iperf$streams" "$value"
  done
done
stop_proxies
stop iperf3-server

# ---- request rate and latency: wrk ---------------------------------------------------------------

http_port=$(free_port)
spawn http exec_bench_java http "$http_port"
await_line http ready
port=([direct]=$http_port [haproxy]=$(free_port) [apivip]=$(free_port) [apivip-uring]=$(free_port))
start_proxies "$http_port"

wrk_parse() { # prints: requests/s p50_ms p99_ms errors
  python3 -c '
import re, sys
text = sys.stdin.read()
def ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(*re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)$", text, re.M).groups())
p99 = ms(*re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)$", text, re.M).groups())
errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
count = (sum(int(n) for n in errors.groups()) if errors else 0) + (int(non2xx.group(1)) if non2xx else 0)
requests = int(re.search(r"(\d+) requests in", text).group(1))
print("%.0f %.3f %.3f %d %d" % (rate, p50, p99, count, requests))'
}
cpu_ticks() { # PID: user + system CPU time so far, in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}
ticks_per_second=$(getconf CLK_TCK)
measure_wrk() { # MODE URL TARGET [WRK OPTIONS...]: one run of wrk, its figures recorded under MODE
  local mode=$1 url=$2 target=$3
  shift 3
  local proxy=${pids[$target]:-} before=0 rate p50 p99 errors requests
  [[ -n $proxy ]] && before=$(cpu_ticks "$proxy")
  read -r rate p50 p99 errors requests < <(wrk -t2 -c64 -d"${WRK_SECONDS}s" --latency "$@" "$url" | wrk_parse)
  record "$target" "rps-$mode" "$rate"
  record "$target" "p50-$mode" "$p50"
  record "$target" "p99-$mode" "$p99"
  record "$target" "errors-$mode" "$errors"
  if [[ -n $proxy ]]; then # the proxy's CPU time (user + system) per 1,000 requests, in ms
    record "$target" "cpu-$mode" "$(awk -v ticks=$(($(cpu_ticks "$proxy") - before)) -v hz="$ticks_per_second" -v n="$requests" 'BEGIN { printf "%.1f", ticks * 1000 / hz / n * 1000 }')"
  fi
}
for target in "${TARGETS[@]}"; do
  wrk -t2 -c64 -d5s "http://127.0.0.1:${port[$target]}/" >/dev/null
  wrk -t2 -c64 -d"${WARMUP_SECONDS}s" -H "Connection: close" "http://127.0.0.1:${port[$target]}/" >/dev/null
done
for target in "${TARGETS[@]}"; do
  measure_wrk keepalive "http://127.0.0.1:${port[$target]}/" "$target"
done
for target in "${TARGETS[@]}"; do
  measure_wrk close "http://127.0.0.1:${port[$target]}/" "$target" -H "Connection: close"
done
# One connection at a time, as a single kubectl call meets the proxy: what the hop adds to a new
# connection when nothing else competes for the cores. wrk takes the last -t and -c it is given.
for target in "${TARGETS[@]}"; do
  measure_wrk single "http://127.0.0.1:${port[$target]}/" "$target" -t1 -c1 -H "Connection: close"
done

# System calls per new connection, counted by perf trace on the proxy's event loop threads (all of
# HAProxy's) under a light load: a figure that, unlike the rates, does not move with the host's load.
declare -A threads=([haproxy]=. [apivip]=^apivip-proxy [apivip-uring]=^apivip-proxy)
for target in haproxy "${APIVIPS[@]}"; do
  perf trace -s -p "${pids[$target]}" -o "$work/$target.syscalls" -- sleep 3 &
  tracer=$!
  sleep 0.5
  read -r _ _ _ _ requests < <(wrk -t1 -c8 -d2s --latency -H "Connection: close" "http://127.0.0.1:${port[$target]}/" | wrk_parse)
  if ! wait "$tracer" || [[ ! -s $work/$target.syscalls ]]; then
    echo "bench: perf trace could not count the system calls of $target; that row stays empty" >&2
    continue
  fi
  # perf trace -s prints, per thread, a line "NAME (TID), N events, ..." and then one row per call.
  record "$target" syscalls-close "$(awk -v n="$requests" -v wanted="${threads[$target]}" '
    /^ .* \([0-9]+\), [0-9]+ events/ { sub(/^ /, ""); counted = $0 ~ wanted; next }
    counted && $1 ~ /^[a-z_0-9]+$/ && $2 ~ /^[0-9]+$/ { calls += $2 }
    END { printf "%.1f", calls / n }' "$work/$target.syscalls")"
done
stop_proxies

# ---- memory: 10,000 idle proxied connections ----------------------------------------------------

for target in haproxy apivip apivip-uring; do
  listen=$(free_port)
  if [[ $target == haproxy ]]; then
    start_haproxy "$target" "$listen" "$http_port"
  else
    start_apivip "$target" "$listen" "$http_port" "${relay[$target]}"
  fi
  pid=${pids[$target]}
  record "$target" rss-start "$(rss_mib "$pid")"
  spawn hold exec_bench_java hold "$listen" "$IDLE_CONNECTIONS"
  await_line hold ready
  sleep 2
  proxied=$(ss -Htn state established "( dport = :$http_port )" | wc -l)
  record "$target" idle-proxied "$proxied"
  record "$target" idle-count "$IDLE_CONNECTIONS"
  record "$target" rss-idle "$(rss_mib "$pid")"
  stop hold
  stop "$target"
done
stop http

# ---- new TLS connections: wrk over HTTPS, a full handshake per connection -------------------------

# What a kubectl call costs the path: a TLS handshake with the API server (a new kubectl process has
# no session to resume) and a request. The stand-in for kube-apiserver is HAProxy terminating TLS
# with an RSA-2048 certificate, without session resumption, answering 200 itself. Only the default
# transport is measured: the row asks how much of the proxy's cost a client making such calls sees.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
cat "$work/tls.crt" "$work/tls.key" >"$work/tls.pem"
tls_port=$(free_port)
cat >"$work/tls-backend.cfg" <<EOF
global
    tune.ssl.cachesize 0
defaults
    mode http
    timeout connect 1s
    timeout client 1h
    timeout server 1h
frontend apiserver
    bind 127.0.0.1:$tls_port ssl crt $work/tls.pem no-tls-tickets
    http-request return status 200 content-type text/plain string ok
EOF
spawn tls-backend haproxy -db -f "$work/tls-backend.cfg"
await_listening tls-backend "$tls_port"
TLS_TARGETS=(direct haproxy apivip)
port=([direct]=$tls_port [haproxy]=$(free_port) [apivip]=$(free_port))
start_haproxy haproxy "${port[haproxy]}" "$tls_port"
start_apivip apivip "${port[apivip]}" "$tls_port" copy
# The full warm-up here too: a handshake costs the stand-in so much that 40 s make only about 20,000
# connections, about where apivip's CPU per connection stops falling (8 s windows from a cold start:
# 1,412, 858, 666, then 620-730 ms per 1,000 connections). Half of it left the JIT compiling while
# the row was measured.
for target in "${TLS_TARGETS[@]}"; do
  wrk -t2 -c64 -d"${WARMUP_SECONDS}s" -H "Connection: close" "https://127.0.0.1:${port[$target]}/" >/dev/null
done
for target in "${TLS_TARGETS[@]}"; do
  measure_wrk tls "https://127.0.0.1:${port[$target]}/" "$target" -H "Connection: close"
done
stop haproxy
stop apivip
stop tls-backend

# ---- the table -----------------------------------------------------------------------------------

machine="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r), load average $load_at_start at the start and $(cut -d' ' -f1 /proc/loadavg) at the end"
versions="HAProxy $(haproxy -v | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p'), $(iperf3 --version | head -1 | cut -d' ' -f1-2), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), $(java -version 2>&1 | head -1)"
python3 bench/proxy/table.py "$results" "$(date -u +%Y-%m-%d)" "$machine" "$versions" bench/README.md
