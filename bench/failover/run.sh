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

# Debian packages the benchmark runs, by the command that tells they are there.
declare -A PACKAGES=([keepalived]=keepalived [haproxy]=haproxy [curl]=curl [ip]=iproute2 [timeout]=coreutils [lscpu]=util-linux)
source bench/lab-bench.sh
lab_bench_prepare "$@"

exec java -Xmx512m -cp "$jar:$bench_jar" io.apivip.bench.failover.FailoverBench \
  --jar "$jar" "${readme[@]}" --machine "$machine" --commit "$commit" "${arguments[@]}"
