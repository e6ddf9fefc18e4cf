#!/usr/bin/env bash
# The failover benchmark: apivip against keepalived + HAProxy, measured side by side on the same
# network-namespace lab in one run. Needs root; takes about half an hour with the defaults.
#
#   bench/failover/run.sh [--trials 20] [--cpu-seconds 60] [--systems apivip,keepalived,keepalived-fast] [--no-readme]
#
# Installs keepalived and HAProxy from Debian when they are missing, builds the jars with ./dev build
# when they are missing, prints progress and one table, and writes the table with the date and the
# machine into bench/README.md ("Failover and handoff"), unless --no-readme.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: the benchmark builds network namespaces and needs root: sudo $0 $*" >&2
  exit 1
fi

# Debian packages the benchmark runs, by the command that tells they are there.
declare -A PACKAGES=([keepalived]=keepalived [haproxy]=haproxy [curl]=curl [ip]=iproute2 [timeout]=coreutils [lscpu]=util-linux)
missing=()
for command in "${!PACKAGES[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${PACKAGES[$command]}")
done
if ((${#missing[@]} > 0)); then
  echo "run.sh: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

jar=lb-daemon/target/apivip.jar
bench_jar=bench/target/apivip-bench.jar
if [[ ! -f $jar || ! -f $bench_jar ]] || ! command -v java >/dev/null 2>&1; then
  ./dev build
fi

readme=(--readme bench/README.md)
arguments=()
for argument in "$@"; do
  if [[ $argument == --no-readme ]]; then
    readme=()
  else
    arguments+=("$argument")
  fi
done

model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
machine="${model:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r)"

# The apivip measured, as git names it ("-dirty" when the tree has changes).
commit=$(git describe --always --dirty 2>/dev/null || echo unknown)

exec java -Xmx512m -cp "$jar:$bench_jar" io.apivip.bench.failover.FailoverBench \
  --jar "$jar" "${readme[@]}" --machine "$machine" --commit "$commit" "${arguments[@]}"
