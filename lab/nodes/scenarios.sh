# shellcheck shell=bash
# Scenarios on the booted nodes, each watched from outside by a real kubectl on the client calling
# https://VIP:6443 every 50 ms (verifying the cluster CA) and by a watch of which nodes' eth0 carry
# the VIP. Each prints its figures and appends them to $RUN/figures.txt.
# Sourced by lab/nodes/cluster.

PROBE_GAP=0.05
# No scenario watches for longer than this; the loops end by themselves.
WATCH_MAX_SECONDS=900

# Starts the watchers: kubectl calls ($RUN/watch/calls: start ms, duration ms, exit status) and VIP
# holders ($RUN/watch/holders: time ms, how many nodes carry the VIP, which).
watch_start() {
  rm -rf "$RUN/watch"
  mkdir -p "$RUN/watch"
  local kubectl
  kubectl=$(command -v kubectl) || die "kubectl is missing (apt-get install kubernetes-client)"
  lab_client env -i HOME="$RUN/client" PATH="$LAB_PATH" KUBECONFIG="$RUN/client/.kube/config" \
    bash -c "$(declare -f probe_calls); probe_calls $kubectl $RUN/watch $WATCH_MAX_SECONDS $PROBE_GAP" </dev/null &
  echo $! >"$RUN/watch/calls.pid"
  (
    end=$((SECONDS + WATCH_MAX_SECONDS))
    while ((SECONDS < end)) && [[ ! -e $RUN/watch/stop ]]; do
      # A sample in which ip itself failed says nothing of the VIP: it is left out.
      if carriers=$(vip_carriers 2>>"$RUN/watch/ip.err"); then
        read -r -a holders <<<"$carriers"
        echo "$(date +%s%3N) ${#holders[@]} $carriers" >>"$RUN/watch/holders"
      fi
      sleep 0.05
    done
  ) </dev/null &
  echo $! >"$RUN/watch/holders.pid"
  # The first answer says the watch works; a scenario that began without one would prove nothing.
  retry_for 30 bash -c "grep -q ' 0\$' '$RUN/watch/calls' 2>/dev/null" ||
    die "kubectl on the client never reached https://$LAB_VIP:6443: $(tail -3 "$RUN/watch/kubectl.err" 2>/dev/null)"
}

# One kubectl call after the other, a gap between them, until $2/stop appears or $3 seconds pass;
# a line per call in $2/calls. Runs in the client's namespace.
probe_calls() {
  local kubectl=$1 dir=$2 end=$((SECONDS + $3)) gap=$4 t0 t1 status
  while ((SECONDS < end)) && [[ ! -e $dir/stop ]]; do
    t0=$(date +%s%3N)
    status=0
    "$kubectl" get --raw /readyz --request-timeout=30s >/dev/null 2>>"$dir/kubectl.err" || status=$?
    t1=$(date +%s%3N)
    echo "$t0 $((t1 - t0)) $status" >>"$dir/calls"
    sleep "$gap"
  done
}

# Stops the watchers and prints one line of figures: calls, failed, slowest; time with no holder
# and with two.
watch_stop() {
  touch "$RUN/watch/stop"
  local pid
  for pid in "$(cat "$RUN/watch/calls.pid")" "$(cat "$RUN/watch/holders.pid")"; do
    retry_for 40 bash -c "! kill -0 $pid 2>/dev/null" || kill "$pid" 2>/dev/null || true
  done
  awk '
    FILENAME ~ /calls$/ { calls++; if ($3 != 0) failed++; if ($2 > slowest) slowest = $2; next }
    {
      if (seen) { if (count == 0) none += $1 - last; if (count > 1) two += $1 - last }
      seen = 1; last = $1; count = $2
    }
    END {
      printf "%d kubectl calls, %d failed, slowest %.2f s; no node held the VIP for %.2f s, two for %.2f s\n",
        calls, failed, slowest / 1000, none / 1000, two / 1000
    }' "$RUN/watch/calls" "$RUN/watch/holders"
}

# The number of failed calls of the last watch.
watch_failed() {
  awk '$3 != 0 { n++ } END { print n + 0 }' "$RUN/watch/calls"
}

record() {
  echo "$1: $2" | tee -a "$RUN/figures.txt" >&2
}

# Whether unit $2's journal on node $1 since boot, at priority $3 or more urgent, has a line matching
# the extended regular expression $4. Read whole first: `journalctl | grep -q` under pipefail
# fails when grep stops early and journalctl gets SIGPIPE.
journal_has() {
  local lines
  lines=$(lab_exec "$1" journalctl -u "$2" -b --no-pager -p "$3" -o cat) || return 1
  grep -Eq -- "$4" <<<"$lines"
}

# The daemon's main pid on a node (0 when it is not running).
daemon_pid() {
  lab_exec "$1" systemctl show --property=MainPID --value apivip
}

# Whether the daemon on node $1 runs again with another pid than $2.
daemon_restarted() {
  local pid
  pid=$(daemon_pid "$1")
  ((pid > 0 && pid != $2))
}

# Waits until every node's daemon runs, sees a quorum and every apiserver up, and none is in
# maintenance: the cluster is whole again.
wait_whole() {
  local seconds=${1:-120} node
  for node in "${LAB_NODES[@]}"; do
    retry_for "$seconds" node_whole "$node" || die "$node did not come back whole within ${seconds}s: $(lab_exec "$node" apivip status 2>&1 | head -20)"
  done
  retry_for 10 vip_holder >/dev/null || die "no single VIP holder once the cluster is whole"
}

node_whole() {
  lab_exec "$1" apivip status --json 2>/dev/null | jq -e '
    .maintenance == false and .quorum.present and .vip.holder != null
    and all(.members[]; (.state == "self" or .state == "alive") and .maintenance == false)
    and all(.backends[]; .health == "up")' >/dev/null
}

scenario() {
  log "scenario $1"
  case $1 in
    service) scenario_service ;;
    kill-daemon) scenario_kill_daemon ;;
    stop-start) scenario_stop_start ;;
    rolling-patch) scenario_rolling_patch ;;
    cert-reissue) scenario_cert_reissue ;;
    refresh-server-cert) scenario_refresh_server_cert ;;
    *) die "no scenario '$1' (service, kill-daemon, stop-start, rolling-patch, cert-reissue, refresh-server-cert)" ;;
  esac
}

# The daemon runs as apivip with exactly the unit's two capabilities, logs to the journal with
# priorities, and `systemctl status` shows what a person needs.
scenario_service() {
  local node pid
  for node in "${LAB_NODES[@]}"; do
    pid=$(daemon_pid "$node")
    ((pid > 0)) || die "$node: apivip is not running"
    local status
    status=$(lab_exec "$node" cat "/proc/$pid/status")
    local uid user caps
    uid=$(awk '/^Uid:/ { print $2 }' <<<"$status")
    user=$(lab_exec "$node" id -nu "$uid")
    [[ $user == apivip ]] || die "$node: the daemon runs as $user, not apivip"
    # CAP_NET_ADMIN (12), CAP_NET_RAW (13): 0x3000, and nothing else.
    for caps in CapEff CapPrm CapBnd CapAmb; do
      local value
      value=$(awk -v key="$caps:" '$1 == key { print $2 }' <<<"$status")
      [[ $value == 0000000000003000 ]] || die "$node: the daemon's $caps is $value, not exactly NET_ADMIN, NET_RAW (0000000000003000)"
    done
    local show
    show=$(lab_exec "$node" systemctl status --no-pager --lines=5 apivip 2>&1 || true)
    [[ $show == *"Active: active (running)"* ]] || die "$node: systemctl status apivip does not say active (running): $show"
    [[ $show == *"apivip: floating virtual IP"* ]] || die "$node: systemctl status apivip lacks the unit's description"
    # The daemon's own line (sd_notify STATUS=): its role, quorum and apiservers, as they change.
    [[ $show == *'Status: "holds the VIP'*'apiservers up 3 of 3"'* || $show == *'Status: "standby; '*'apiservers up 3 of 3"'* ]] ||
      die "$node: systemctl status apivip does not show the node's role: $show"
    # The admin socket belongs to the operators' group, so its members can drain (the unit must let
    # the daemon change a file's group).
    [[ $(lab_exec "$node" stat -c %G /run/apivip/admin.sock) == apivip-admin ]] ||
      die "$node: /run/apivip/admin.sock is not group apivip-admin: $(lab_exec "$node" ls -l /run/apivip/admin.sock)"
    # The journal carries the daemon's own lines, with their priority: started is info.
    journal_has "$node" apivip info "node $node started" ||
      die "$node: the journal has no info line 'node $node started'"
  done
  # Who may administer: a member of apivip-admin drains and resumes; another user is refused and
  # changes nothing (docs/microk8s.md, "Who may administer apivip").
  lab_sh node1 'id alice >/dev/null 2>&1 || useradd --create-home alice; usermod -aG apivip-admin alice
    id mallory >/dev/null 2>&1 || useradd --create-home mallory'
  local refused status=0
  refused=$(lab_exec node1 runuser -u mallory -- apivip drain 2>&1) || status=$?
  [[ $status != 0 && $refused == *"permission denied"* ]] || die "node1: user mallory could drain (exit $status): $refused"
  lab_exec node1 apivip status --json | jq -e '.maintenance == false' >/dev/null || die "node1: a refused drain changed the node"
  lab_exec node1 runuser -u alice -- apivip drain --wait >/dev/null || die "node1: user alice, in apivip-admin, could not drain"
  lab_exec node1 runuser -u alice -- apivip resume >/dev/null || die "node1: user alice could not resume"
  wait_whole 60
  local warning
  warning=$(lab_exec node1 journalctl -u apivip -b --no-pager -p warning -o cat | grep -v '^$' | head -3 || true)
  record service "the daemon runs as apivip with CapEff=CapBnd=CapAmb=0x3000 on ${#LAB_NODES[@]} nodes; systemctl status shows its role; a member of apivip-admin drained and resumed node1, another user was refused; node1's warnings: ${warning:-none}"
}

# kill -9 of the holder's daemon: systemd restarts it; the VIP is on two nodes for at most the
# restart.
scenario_kill_daemon() {
  wait_whole
  watch_start
  sleep 2
  local holder pid
  holder=$(vip_holder)
  pid=$(daemon_pid "$holder")
  log "kill -9 of the daemon on $holder (pid $pid)"
  local killed_at=$SECONDS
  lab_exec "$holder" kill -9 "$pid"
  retry_for 30 daemon_restarted "$holder" "$pid" || die "$holder: systemd did not restart apivip after kill -9"
  wait_whole 60
  local restarted=$((SECONDS - killed_at))
  # Its peers noticed, and said so at warning priority, so `journalctl -p warning` shows it.
  local peer
  for peer in "${LAB_NODES[@]}"; do
    [[ $peer == "$holder" ]] && continue
    journal_has "$peer" apivip warning "peer $holder .* is suspected" ||
      die "$peer: no warning-priority journal line says that $holder is suspected"
  done
  sleep 2
  record kill-daemon "on the holder $holder: systemd restarted it, whole again after ${restarted}s; $(watch_stop)"
}

# systemctl stop, start and restart of apivip on the holder: each a planned handoff.
scenario_stop_start() {
  wait_whole
  watch_start
  sleep 2
  local holder
  holder=$(vip_holder)
  log "systemctl stop apivip on $holder"
  lab_exec "$holder" systemctl stop apivip
  sleep 3
  log "systemctl start apivip on $holder"
  lab_exec "$holder" systemctl start apivip
  wait_whole 60
  holder=$(vip_holder)
  log "systemctl restart apivip on $holder"
  lab_exec "$holder" systemctl restart apivip
  wait_whole 60
  sleep 2
  local figures failed
  figures=$(watch_stop)
  failed=$(watch_failed)
  record stop-start "stop, start, restart on the holder: $figures"
  ((failed == 0)) || die "stop-start: $failed kubectl calls failed"
}

# The OS patch: on each node in turn, apivip drain --wait && systemctl reboot, then wait until it
# is back and whole. No kubectl call may fail.
scenario_rolling_patch() {
  wait_whole
  watch_start
  sleep 2
  local node started=$SECONDS
  for node in "${LAB_NODES[@]}"; do
    local boots
    boots=$(grep -c ' boot ' "$RUN/$node/boots")
    log "$node: apivip drain --wait && systemctl reboot"
    lab_sh "$node" 'apivip drain --wait && systemctl reboot' >&2 || die "$node: the drain failed"
    retry_for 120 bash -c "(( \$(grep -c ' boot ' '$RUN/$node/boots') > $boots ))" || die "$node did not boot again"
    lab_wait_booted "$node"
    wait_whole 120
    log "$node is back and whole"
  done
  sleep 2
  local figures failed
  figures=$(watch_stop)
  failed=$(watch_failed)
  record rolling-patch "drain --wait and reboot of ${LAB_NODES[*]} in $((SECONDS - started))s: $figures"
  ((failed == 0)) || die "rolling patch: $failed kubectl calls failed: $(tail -5 "$RUN/watch/kubectl.err")"
}

# When the node's kubelite (the stand-in apiserver's unit) last started, in monotonic microseconds.
kubelite_start() {
  lab_exec "$1" systemctl show --property=ExecMainStartTimestampMonotonic --value snap.microk8s.daemon-kubelite
}

kubelite_restarted() {
  [[ $(kubelite_start "$1") != "$2" ]]
}

# The hazard of a node without MicroK8s's no-cert-reissue lock: apivip doctor FAILs naming it, and
# when the VIP moves to that node, MicroK8s's apiservice-kicker re-issues its API server's
# certificate and restarts kubelite. The lock is put back afterwards.
scenario_cert_reissue() {
  wait_whole
  local holder lock=/var/snap/microk8s/current/var/lock/no-cert-reissue node
  holder=$(vip_holder)
  local others=()
  for node in "${LAB_NODES[@]}"; do
    [[ $node == "$holder" ]] || others+=("$node")
  done
  for node in "${others[@]}"; do
    lab_exec "$node" rm -f "$lock"
  done
  local report status=0
  report=$(lab_exec "${others[0]}" apivip doctor 2>&1) || status=$?
  [[ $status == 1 && $report == *"FAIL  microk8s"*"no-cert-reissue is missing"*"restarts kubelite"*"run sudo touch $lock"* ]] ||
    die "${others[0]}: without $lock, apivip doctor does not FAIL naming the hazard and its fix (exit $status): $report"
  grep '^FAIL' <<<"$report" | sed "s/^/    ${others[0]}| /" >&2
  declare -A kubelite_started
  for node in "${others[@]}"; do
    kubelite_started[$node]=$(kubelite_start "$node")
  done
  watch_start
  sleep 2
  log "no-cert-reissue lock removed on ${others[*]}; apivip drain on the holder $holder moves the VIP to one of them"
  local moved_at=$SECONDS
  lab_sh "$holder" 'apivip drain --wait' >&2 || die "$holder: the drain failed"
  local successor
  successor=$(vip_holder) || die "no single holder after the drain"
  retry_for 60 kubelite_restarted "$successor" "${kubelite_started[$successor]}" ||
    die "$successor took the VIP without the lock, and its kubelite was not restarted within 60 s"
  local restarted=$((SECONDS - moved_at))
  journal_has "$successor" snap.microk8s.daemon-apiserver-kicker debug "CSR change detected" ||
    die "$successor: kubelite restarted, but the kicker's journal does not say why"
  sleep 5
  local figures
  figures=$(watch_stop)
  for node in "${others[@]}"; do
    lab_exec "$node" touch "$lock"
  done
  lab_exec "$holder" apivip resume >/dev/null
  wait_whole 120
  record cert-reissue "without the lock, apivip doctor FAILs naming it; the VIP moved to $successor, whose apiservice-kicker re-issued the certificate and restarted kubelite within ${restarted}s: $figures"
}

# A DNS name added to every API server's certificate where apivip runs, as docs/microk8s.md section
# 4 says: `apivip setup microk8s --refresh-server-cert` is refused on a node that is not drained, and
# changes nothing; then on each node in turn drain --wait, setup (which runs MicroK8s's refresh-certs
# and so restarts kubelite), microk8s status --wait-ready, resume, and wait until the cluster is
# whole. No kubectl call through the VIP may fail; a second run has nothing to change.
scenario_refresh_server_cert() {
  local name=k8s-api.example.internal node output status=0
  local template=/var/snap/microk8s/current/certs/csr.conf.template
  wait_whole
  local before after
  before=$(lab_exec node1 sha256sum "$template")
  output=$(lab_exec node1 apivip setup microk8s --dns "$name" --refresh-server-cert 2>&1) || status=$?
  [[ $status == 2 && $output == *"is not drained"*"nothing changed" ]] ||
    die "node1: setup --refresh-server-cert on a node that is not drained was not refused (exit $status): $output"
  after=$(lab_exec node1 sha256sum "$template")
  [[ $before == "$after" ]] || die "node1: a refused setup changed $template"
  watch_start
  sleep 2
  local started=$SECONDS
  declare -A kubelite_started
  for node in "${LAB_NODES[@]}"; do
    kubelite_started[$node]=$(kubelite_start "$node")
    log "$node: apivip drain --wait, apivip setup microk8s --dns $name --refresh-server-cert, microk8s status --wait-ready, apivip resume"
    lab_sh "$node" "apivip drain --wait && apivip setup microk8s --dns $name --refresh-server-cert && microk8s status --wait-ready && apivip resume" >&2 ||
      die "$node: the refresh of its API server certificate failed"
    kubelite_restarted "$node" "${kubelite_started[$node]}" || die "$node: kubelite did not restart with the new certificate"
    wait_whole 120
    local served
    served=$(lab_sh "$node" 'openssl s_client -connect 127.0.0.1:16443 </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName')
    [[ $served == *"DNS:$name"* && $served == *"IP Address:$LAB_VIP"* ]] ||
      die "$node: its apiserver serves a certificate without DNS:$name or the VIP: $served"
    log "$node serves a certificate naming $name; the cluster is whole"
  done
  sleep 2
  local figures failed
  figures=$(watch_stop)
  failed=$(watch_failed)
  output=$(lab_exec node2 apivip setup microk8s --dns "$name" --refresh-server-cert 2>&1) ||
    die "node2: a second setup --refresh-server-cert failed: $output"
  [[ $output == *"nothing to change"* ]] || die "node2: a second setup found something to change: $output"
  record refresh-server-cert "refused on a node not drained (exit 2, template unchanged); drain, setup --dns --refresh-server-cert, resume on ${LAB_NODES[*]} in $((SECONDS - started))s, each kubelite restarted and serving $name: $figures"
  ((failed == 0)) || die "refresh-server-cert: $failed kubectl calls failed: $(tail -5 "$RUN/watch/kubectl.err")"
}

scenario_summary() {
  log "figures:"
  cat "$RUN/figures.txt" >&2
}
