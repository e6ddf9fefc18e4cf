# shellcheck shell=bash
# What the lab benchmarks' run.sh scripts share (bench/failover, bench/faults); sourced, not run.
# The caller sets PACKAGES (Debian package by the command that tells it is there), then calls
# lab_bench_prepare "$@", which leaves jar, bench_jar, readme, arguments, machine and commit set.

# shellcheck disable=SC2034 # the variables are the caller's
lab_bench_prepare() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "run.sh: the benchmark builds network namespaces and needs root: sudo $0 $*" >&2
    exit 1
  fi

  local missing=() command
  for command in "${!PACKAGES[@]}"; do
    command -v "$command" >/dev/null 2>&1 || missing+=("${PACKAGES[$command]}")
  done
  if ((${#missing[@]} > 0)); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
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
  local argument
  for argument in "$@"; do
    if [[ $argument == --no-readme ]]; then
      readme=()
    else
      arguments+=("$argument")
    fi
  done

  local model
  model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
  machine="${model:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r)"

  # The apivip measured, as git names it ("-dirty" when the tree has changes).
  commit=$(git describe --always --dirty 2>/dev/null || echo unknown)
}
