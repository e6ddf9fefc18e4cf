# shellcheck shell=bash
# The booted-node lab: three Debian 12 systems booted by systemd-nspawn, each in a network
# namespace of its own, plugged into a bridge that lives in a namespace of its own, and a client
# namespace. Nothing is linked to the root namespace, so no lab packet leaves the machine.
# Sourced by lab/nodes/cluster; needs root.
#
# Numbering, as the rest of the lab and as docs/microk8s.md's examples, so the guide's commands
# run here as written:
#   node1..node3  192.0.2.11-13   2001:db8::11-13   eth0, MAC 02:00:00:00:00:0b-0d
#   client        192.0.2.200     2001:db8::200
#   the VIP       192.0.2.100/24
#
# A lab's state lives in its run directory ($RUN): the namespaces' names, each node's overlay
# (the cached root file system below, the node's own changes above), the pid of the loop that boots
# it again after a reboot, and the logs. Namespaces are named apivip-nodes-<pid>-<host>, after the
# process that made them, so a later run can tell and remove what a dead run left.

LAB_NODES=(node1 node2 node3)
declare -A LAB_IPV4=([node1]=192.0.2.11 [node2]=192.0.2.12 [node3]=192.0.2.13 [client]=192.0.2.200)
declare -A LAB_IPV6=([node1]=2001:db8::11 [node2]=2001:db8::12 [node3]=2001:db8::13 [client]=2001:db8::200)
# shellcheck disable=SC2034 # used by runbook.sh and scenarios.sh
LAB_VIP=192.0.2.100
LAB_NS_PREFIX=apivip-nodes-
LAB_CACHE=${APIVIP_LAB_CACHE:-/var/cache/apivip-lab}
LAB_RUNS=${APIVIP_LAB_RUNS:-/var/tmp/apivip-nodes}
LAB_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin
# How many times one node may boot within one lab (reboots included): a node rebooting in a loop
# ends the lab instead of spinning for ever.
LAB_MAX_BOOTS=20

# The root file system every node starts from: Debian 12 with systemd and what the .deb, the
# MicroK8s fixture and the runbook use. Everything must be here: the nodes have no network but the
# lab's, so apt installs the .deb from these packages alone.
LAB_PACKAGES=(
  systemd systemd-sysv dbus libpam-systemd iproute2 nftables iputils-ping iputils-arping
  openjdk-17-jre-headless adduser sudo curl openssl ca-certificates procps kmod less
  openssh-server openssh-client libcap2-bin tcpdump
)

log() { printf '%s lab: %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Runs "$@" until it succeeds or $1 seconds pass; returns its last status. Polls every 0.2 s.
retry_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# ---- the root file system ------------------------------------------------------------------

# Prints the cached root file system's path, building it first if no cache matches the package
# list and this function's setup (the key is a hash of both). About a minute the first time.
lab_rootfs() {
  local key
  key=$( (printf '%s\n' "${LAB_PACKAGES[@]}" && declare -f lab_build_rootfs lab_configure_rootfs) | sha256sum | cut -c1-16)
  local root=$LAB_CACHE/rootfs-bookworm-$key
  if [[ ! -d $root ]]; then
    lab_build_rootfs "$root" >&2
  fi
  echo "$root"
}

lab_build_rootfs() {
  local root=$1 tmp=$1.tmp.$$
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
  mkdir -p "$LAB_CACHE"
  rm -rf "$LAB_CACHE"/rootfs-*.tmp.*
  log "building the nodes' root file system (debootstrap bookworm, cached in $root)"
  local include
  include=$(
    IFS=,
    echo "${LAB_PACKAGES[*]}"
  )
  if ! debootstrap --variant=minbase --include="$include" bookworm "$tmp" "${APIVIP_LAB_MIRROR:-http://deb.debian.org/debian}" >"$LAB_CACHE/debootstrap.log" 2>&1; then
    tail -20 "$LAB_CACHE/debootstrap.log" >&2
    rm -rf "$tmp"
    die "debootstrap failed; its log: $LAB_CACHE/debootstrap.log"
  fi
  lab_configure_rootfs "$tmp"
  mv "$tmp" "$root"
}

# What a node needs beyond its packages: no console login, the journal kept, the lab's hosts.
lab_configure_rootfs() {
  local root=$1
  # The console is the lab's log file, not a terminal: no getty waiting on it.
  chroot "$root" systemctl mask console-getty.service getty@tty1.service >/dev/null 2>&1 || true
  mkdir -p "$root/var/log/journal"
  # The nodes resolve one another by name, as an operator's nodes do through DNS.
  {
    echo "127.0.0.1 localhost"
    echo "::1 localhost ip6-localhost ip6-loopback"
    for node in "${LAB_NODES[@]}"; do
      echo "${LAB_IPV4[$node]} $node"
    done
  } >"$root/etc/hosts"
  # apt in a node finds no network: make it say so at once instead of retrying.
  echo 'Acquire::Retries "0";' >"$root/etc/apt/apt.conf.d/99apivip-lab"
  # Root logs in from one node to another over SSH, as the guide's key copy does.
  sed -i 's/^#\?PermitRootLogin.*/PermitRootLogin prohibit-password/' "$root/etc/ssh/sshd_config"
}

# ---- the network ---------------------------------------------------------------------------

lab_ns() { echo "$LAB_NS_PREFIX$LAB_ID-$1"; }

# A lab lives while one of its nodes' boot loops runs.
lab_alive() {
  local pidfile
  for pidfile in "$LAB_RUNS/$1"/*/loop.pid; do
    [[ -e $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && return 0
  done
  return 1
}

# Removes what labs with no node running left behind: namespaces, mounts, run directories.
lab_remove_stale() {
  local ns id run mounted
  while read -r ns _; do
    [[ $ns == "$LAB_NS_PREFIX"* ]] || continue
    id=${ns#"$LAB_NS_PREFIX"}
    id=${id%%-*}
    if [[ $id =~ ^[0-9]+$ ]] && ! lab_alive "$id"; then
      log "removing namespace $ns left by lab $id, whose nodes are gone"
      ip netns delete "$ns" 2>/dev/null || true
    fi
  done < <(ip netns list 2>/dev/null)
  for run in "$LAB_RUNS"/[0-9]*; do
    [[ -d $run ]] || continue
    id=${run##*/}
    lab_alive "$id" && continue
    for mounted in "$run"/*/root; do
      if mountpoint -q "$mounted" 2>/dev/null; then
        umount "$mounted" 2>/dev/null || umount -l "$mounted"
      fi
    done
    rm -rf "$run"
  done
}

lab_network_up() {
  local bridge
  bridge=$(lab_ns bridge)
  ip netns add "$bridge"
  ip -n "$bridge" link set lo up
  ip -n "$bridge" link add br0 type bridge
  ip -n "$bridge" link set br0 up
  local host index=0
  for host in "${LAB_NODES[@]}" client; do
    local ns mac
    ns=$(lab_ns "$host")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # Addresses work at once: no duplicate address detection in a lab.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    local last=${LAB_IPV4[$host]##*.}
    mac=$(printf '02:00:00:00:00:%02x' "$last")
    ip -n "$bridge" link add "$host" type veth peer name eth0 netns "$ns"
    ip -n "$bridge" link set "$host" master br0 up
    ip -n "$ns" link set eth0 address "$mac" up
    ip -n "$ns" addr add "${LAB_IPV4[$host]}/24" dev eth0
    ip -n "$ns" addr add "${LAB_IPV6[$host]}/64" dev eth0 nodad
    # A default route, as every real node has (MicroK8s's apiservice-kicker acts only with one);
    # it leads nowhere but the lab's bridge.
    ip -n "$ns" route add default dev eth0
    index=$((index + 1))
  done
}

# Plugs a node's cable out (down) or back in (up), as pulling it at the switch would.
lab_link() {
  ip -n "$(lab_ns bridge)" link set "$1" "$2"
}

lab_network_down() {
  local host
  for host in "${LAB_NODES[@]}" client bridge; do
    ip netns delete "$(lab_ns "$host")" 2>/dev/null || true
  done
}

# ---- the nodes -----------------------------------------------------------------------------

lab_node_root() { echo "$RUN/$1/root"; }

lab_mount_node() {
  local node=$1 lower=$2
  mkdir -p "$RUN/$node/upper" "$RUN/$node/work" "$RUN/$node/root"
  mount -t overlay "apivip-$node" -o "lowerdir=$lower,upperdir=$RUN/$node/upper,workdir=$RUN/$node/work" "$RUN/$node/root"
  echo "$node" >"$RUN/$node/root/etc/hostname"
}

# The loop that boots a node and boots it again when it reboots (systemd-nspawn exits 133 then),
# until the node powers off, fails, is stopped by lab_down, or has booted LAB_MAX_BOOTS times.
lab_boot_loop() {
  local node=$1 boots=0 status
  while ((boots < LAB_MAX_BOOTS)) && [[ ! -e $RUN/$node/stop ]]; do
    boots=$((boots + 1))
    echo "$(date +%s.%N) boot $boots" >>"$RUN/$node/boots"
    systemd-nspawn --quiet --directory="$RUN/$node/root" --machine="$node" --hostname="$node" \
      --register=no --keep-unit --boot --console=read-only \
      --network-namespace-path="/run/netns/$(lab_ns "$node")" \
      --capability=CAP_NET_ADMIN,CAP_NET_RAW \
      --bind="$RUN/share:/lab" \
      >>"$RUN/$node/console.log" 2>&1 </dev/null &
    echo $! >"$RUN/$node/nspawn.pid"
    status=0
    wait $! || status=$?
    echo "$(date +%s.%N) exit $status" >>"$RUN/$node/boots"
    ((status == 133)) || break
  done
  rm -f "$RUN/$node/nspawn.pid"
}

# Prints the pid of the node's init (its systemd), or fails when the node is not running.
lab_leader() {
  local nspawn
  nspawn=$(cat "$RUN/$1/nspawn.pid" 2>/dev/null) || return 1
  pgrep -P "$nspawn" 2>/dev/null | head -1 | grep .
}

# Runs a command inside a node, as root in all of its namespaces, with a clean environment: the way
# an operator's shell on that node would.
lab_exec() {
  local node=$1 leader
  shift
  leader=$(lab_leader "$node") || die "$node is not running"
  # Not nsenter --wd: util-linux 2.38 resolves it outside the node's root; env -C does it inside.
  nsenter --target "$leader" --all \
    env -i -C /root PATH="$LAB_PATH" HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM="${TERM:-dumb}" "$@"
}

# Runs a bash script inside a node (as `bash -c`), from the guide or a scenario.
lab_sh() {
  local node=$1
  shift
  lab_exec "$node" bash -o pipefail -c "$*"
}

# Waits until a node's systemd has finished booting; fails after $2 seconds (default 120).
lab_wait_booted() {
  local node=$1 seconds=${2:-120} state
  local deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    if lab_leader "$node" >/dev/null; then
      state=$(lab_exec "$node" systemctl is-system-running 2>/dev/null || true)
      case $state in
        running) return 0 ;;
        degraded)
          log "$node booted degraded: $(lab_exec "$node" systemctl --failed --no-legend --plain | tr '\n' ' ')"
          return 0
          ;;
      esac
    fi
    sleep 0.5
  done
  die "$node did not finish booting within ${seconds}s (state: ${state:-not running}); console: $RUN/$node/console.log"
}

lab_boot() {
  local node=$1
  rm -f "$RUN/$node/stop"
  setsid bash -c "$(declare -p LAB_ID RUN LAB_NS_PREFIX LAB_MAX_BOOTS); $(declare -f lab_boot_loop lab_ns); lab_boot_loop $node" \
    </dev/null >>"$RUN/$node/loop.log" 2>&1 &
  echo $! >"$RUN/$node/loop.pid"
}

# Shuts a node down as `poweroff` would and waits (at most $2 seconds) for it to end; then kills it.
lab_poweroff() {
  local node=$1 seconds=${2:-60} nspawn loop
  touch "$RUN/$node/stop"
  nspawn=$(cat "$RUN/$node/nspawn.pid" 2>/dev/null || true)
  loop=$(cat "$RUN/$node/loop.pid" 2>/dev/null || true)
  if [[ -n $nspawn ]] && kill -0 "$nspawn" 2>/dev/null; then
    # systemd-nspawn answers SIGTERM with an orderly shutdown of the system inside.
    kill -TERM "$nspawn" 2>/dev/null || true
    retry_for "$seconds" bash -c "! kill -0 $nspawn 2>/dev/null" || kill -KILL "$nspawn" 2>/dev/null || true
  fi
  if [[ -n $loop ]]; then
    retry_for 10 bash -c "! kill -0 $loop 2>/dev/null" || kill -KILL "$loop" 2>/dev/null || true
  fi
}

# Makes a lab in a new run directory, boots its nodes and waits until each has booted.
lab_up() {
  [[ $(id -u) -eq 0 ]] || die "the booted-node lab needs root"
  local tool
  for tool in systemd-nspawn debootstrap nsenter ip; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install systemd-container debootstrap util-linux iproute2)"
  done
  lab_remove_stale
  local lower
  lower=$(lab_rootfs)
  LAB_ID=$$
  RUN=$LAB_RUNS/$LAB_ID
  mkdir -p "$RUN/share"
  echo "$LAB_ID" >"$RUN/id"
  ln -sfn "$RUN" "$LAB_RUNS/current"
  log "lab $LAB_ID in $RUN"
  lab_network_up
  # One SSH identity for root on every node, trusted by every node, as an operator's would be.
  ssh-keygen -q -t ed25519 -N '' -C apivip-lab -f "$RUN/ssh_key"
  local node
  for node in "${LAB_NODES[@]}"; do
    lab_mount_node "$node" "$lower"
    local root
    root=$(lab_node_root "$node")
    install -d -m 0700 "$root/root/.ssh"
    install -m 0600 "$RUN/ssh_key" "$root/root/.ssh/id_ed25519"
    install -m 0644 "$RUN/ssh_key.pub" "$root/root/.ssh/authorized_keys"
    printf 'Host *\n  StrictHostKeyChecking accept-new\n  BatchMode yes\n  ConnectTimeout 5\n' >"$root/root/.ssh/config"
    lab_boot "$node"
  done
  for node in "${LAB_NODES[@]}"; do
    lab_wait_booted "$node"
  done
  log "nodes booted: ${LAB_NODES[*]}"
}

# Ends a lab: powers its nodes off, unmounts, deletes its namespaces. Safe to call twice, and on a
# half-made lab.
lab_down() {
  [[ -n ${RUN:-} && -d $RUN ]] || return 0
  LAB_ID=$(cat "$RUN/id")
  local node
  for node in "${LAB_NODES[@]}"; do
    [[ -d $RUN/$node ]] && lab_poweroff "$node" 30 &
  done
  wait
  for node in "${LAB_NODES[@]}"; do
    mountpoint -q "$RUN/$node/root" 2>/dev/null && { umount "$RUN/$node/root" || umount -l "$RUN/$node/root"; }
  done
  lab_network_down
  [[ $(readlink "$LAB_RUNS/current" 2>/dev/null) == "$RUN" ]] && rm -f "$LAB_RUNS/current"
  log "lab $LAB_ID is down"
}

# Selects an existing lab: $APIVIP_LAB_RUN, else the current one.
lab_attach() {
  RUN=${APIVIP_LAB_RUN:-$LAB_RUNS/current}
  [[ -d $RUN ]] || die "no lab is up (start one with: lab/nodes/cluster up)"
  RUN=$(readlink -f "$RUN")
  LAB_ID=$(cat "$RUN/id")
}

# Runs a command in the client's namespace (kubectl, curl), where people and CI sit.
lab_client() {
  ip netns exec "$(lab_ns client)" "$@"
}
