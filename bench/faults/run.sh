#!/usr/bin/env bash
# The fault matrix: apivip against keepalived + HAProxy under the faults that break VRRP (the holder
# or the next in line deaf or mute to the cluster's traffic, a paused daemon, a crashed one, 20% loss
# with jitter, a flapping link, a partition), side by side on the same network-namespace lab in one
# run. Needs root; takes about half an hour with the defaults.
#
#   bench/faults/run.sh [--systems apivip,keepalived,keepalived-fast] [--faults holder-deaf,pause,...]
#                       [--trials 1] [--work DIR] [--no-readme]
#
# Faults: holder-deaf, holder-mute, next-deaf, next-mute, pause, crash, loss, flap, partition.
# Installs keepalived, HAProxy, nftables and tc from Debian when they are missing, builds the jars
# with ./dev build when they are missing, prints progress and one table, and writes the table with
# the date, the commit and the machine into bench/README.md ("Faults that break VRRP"), unless
# --no-readme.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Debian packages the benchmark runs, by the command that tells they are there.
declare -A PACKAGES=([keepalived]=keepalived [haproxy]=haproxy [curl]=curl [ip]=iproute2 [tc]=iproute2
  [nft]=nftables [bash]=bash [timeout]=coreutils [lscpu]=util-linux)
source bench/lab-bench.sh
lab_bench_prepare "$@"
# netem may be a module; where the kernel has none at all, the loss fault uses nftables and says so.
modprobe -q sch_netem 2>/dev/null || true

exec java -Xmx512m -cp "$jar:$bench_jar" io.apivip.bench.faults.FaultBench \
  --jar "$jar" "${readme[@]}" --machine "$machine" --commit "$commit" "${arguments[@]}"
