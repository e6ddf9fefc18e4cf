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

if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: the benchmark builds network namespaces and needs root: sudo $0 $*" >&2
  exit 1
fi

# Debian packages the benchmark runs, by the command that tells they are there.
declare -A PACKAGES=([keepalived]=keepalived [haproxy]=haproxy [curl]=curl [ip]=iproute2 [tc]=iproute2
  [nft]=nftables [bash]=bash [timeout]=coreutils [lscpu]=util-linux)
missing=()
for command in "${!PACKAGES[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${PACKAGES[$command]}")
done
if ((${#missing[@]} > 0)); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "run.sh: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# netem may be a module; where the kernel has none at all, the loss fault uses nftables and says so.
modprobe -q sch_netem 2>/dev/null || true

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

exec java -Xmx512m -cp "$jar:$bench_jar" io.apivip.bench.faults.FaultBench \
  --jar "$jar" "${readme[@]}" --machine "$machine" --commit "$commit" "${arguments[@]}"
