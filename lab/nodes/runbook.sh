# shellcheck shell=bash
# docs/microk8s.md as a test: the guide's command blocks, run on the booted nodes as written.
#
# Every ```sh and ```hocon block of the guide carries, on the line before it, a comment that says
# where it runs, and the runner refuses a block without one, so a new command in the guide is run
# here or skipped with a reason, never forgotten:
#   <!-- runbook: on each node -->            on node1, node2, node3 in turn, as root, in /root
#   <!-- runbook: on node1 -->                on that node
#   <!-- runbook: on the client -->           where people and CI sit, with the kubeconfig that
#                                             `microk8s config` printed on node1 (the guide's
#                                             "take a kubeconfig from microk8s config")
#   <!-- runbook: write FILE on each node --> the block is FILE's content; node-id = "node1"
#                                             becomes each node's own, as the guide says
#   <!-- runbook: ... expect TEXT -->         and the output must contain TEXT
#   <!-- runbook: skip: REASON -->            not run here, and why
# Sourced by lab/nodes/cluster.

RUNBOOK_GUIDE=${RUNBOOK_GUIDE:-$REPO/docs/microk8s.md}

# Splits the guide into $RUN/runbook/NNN.{where,lang,body,line}, one set per fenced block whose
# language is sh or hocon.
runbook_extract() {
  rm -rf "$RUN/runbook"
  mkdir -p "$RUN/runbook"
  awk -v out="$RUN/runbook" '
    function flush_marker() { marker = "" }
    /^[[:space:]]*<!-- runbook: .* -->[[:space:]]*$/ {
      marker = $0
      sub(/^[[:space:]]*<!-- runbook: /, "", marker)
      sub(/ -->[[:space:]]*$/, "", marker)
      next
    }
    !inside && /^[[:space:]]*```(sh|hocon)[[:space:]]*$/ {
      inside = 1
      indent = $0
      sub(/```.*/, "", indent)
      lang = $0
      sub(/^[[:space:]]*```/, "", lang)
      gsub(/[[:space:]]/, "", lang)
      count++
      name = sprintf("%s/%03d", out, count)
      print marker > (name ".where")
      print lang > (name ".lang")
      print NR > (name ".line")
      printf "" > (name ".body")
      next
    }
    inside && /^[[:space:]]*```[[:space:]]*$/ { inside = 0; flush_marker(); next }
    inside {
      line = $0
      if (substr(line, 1, length(indent)) == indent) line = substr(line, length(indent) + 1)
      print line >> (name ".body")
      next
    }
    !/^[[:space:]]*$/ { flush_marker() }
  ' "$RUNBOOK_GUIDE"
  local count
  count=$(find "$RUN/runbook" -name '*.body' | wc -l)
  ((count > 0)) || die "no command blocks found in $RUNBOOK_GUIDE"
  local missing=()
  local where
  for where in "$RUN"/runbook/*.where; do
    [[ -s $where && $(cat "$where") != "" ]] || missing+=("line $(cat "${where%.where}.line")")
  done
  ((${#missing[@]} == 0)) || die "docs/microk8s.md: command blocks without a runbook comment (say where they run, or skip: why): ${missing[*]}"
}

# Installs what the guide starts from on every node: a stock MicroK8s node (the fixture) sharing
# one cluster CA, and the .deb in root's home, where the guide's `apt install ./apivip_*.deb` finds
# it. The client gets node1's `microk8s config`, as a person copies it to their machine.
runbook_prepare() {
  local deb=$1 standin=$2 node
  mkdir -p "$RUN/share/standin" "$RUN/share/ca"
  cp "$standin"/*.jar "$RUN/share/standin/"
  standin_jar "$RUN/share/standin"
  cp -r "$REPO/lab/microk8s" "$RUN/share/microk8s"
  # One node after the other: the first makes the cluster's CA, the others take it, as
  # `microk8s join` gives a joining node the cluster's CA.
  for node in "${LAB_NODES[@]}"; do
    lab_exec "$node" env MICROK8S_DATASTORE_NODES="${LAB_IPV4[node1]}:19001 ${LAB_IPV4[node2]}:19001 ${LAB_IPV4[node3]}:19001" \
      /lab/microk8s/install-fixture "$node" auto /lab/ca /lab/standin/standin.jar >"$RUN/$node/fixture.log" 2>&1 ||
      die "$node: install-fixture failed: $(tail -5 "$RUN/$node/fixture.log")"
    cp "$deb" "$(lab_node_root "$node")/root/"
  done
  for node in "${LAB_NODES[@]}"; do
    retry_for 90 lab_exec "$node" microk8s status --wait-ready --timeout 1 >/dev/null 2>&1 ||
      die "$node: MicroK8s's stand-in apiserver is not ready; journalctl -u snap.microk8s.daemon-kubelite on $node"
  done
  mkdir -p "$RUN/client/.kube"
  lab_exec node1 microk8s config >"$RUN/client/.kube/config"
  chmod 0600 "$RUN/client/.kube/config"
  log "MicroK8s stand-in ready on ${LAB_NODES[*]}; the .deb is in /root on each"
}

# The stand-in kube-apiserver as the one jar install-fixture takes: a jar with no classes whose
# manifest names the lab's jars where every node sees them (/lab/standin, bound into each node).
standin_jar() {
  local dir=$1 jars=() jar
  for jar in "$dir"/*.jar; do
    [[ ${jar##*/} == standin.jar ]] || jars+=("/lab/standin/${jar##*/}")
  done
  local manifest=$RUN/standin.manifest
  {
    echo "Manifest-Version: 1.0"
    # Manifest lines hold at most 72 bytes; a continuation line starts with a space.
    printf 'Class-Path: %s\n' "${jars[*]}" | fold -w 70 | sed '2,$s/^/ /'
  } >"$manifest"
  mkdir -p "$RUN/empty"
  jar cfm "$dir/standin.jar" "$manifest" -C "$RUN/empty" .
}

# Runs one block where its comment says; fails with the block's line when it fails.
runbook_block() {
  local name=$1 where lang line body output status=0
  where=$(cat "$name.where")
  lang=$(cat "$name.lang")
  line=$(cat "$name.line")
  body=$(cat "$name.body")
  local expect=""
  if [[ $where == *" expect "* ]]; then
    expect=${where#* expect }
    where=${where%% expect *}
  fi
  local nodes=()
  case $where in
    skip:*)
      log "guide line $line: skipped (${where#skip: })"
      return 0
      ;;
    "on each node") nodes=("${LAB_NODES[@]}") ;;
    "on node"[0-9]) nodes=("${where#on }") ;;
    "on the client") nodes=(client) ;;
    "write "*" on each node")
      local file=${where#write }
      file=${file% on each node}
      local node
      for node in "${LAB_NODES[@]}"; do
        log "guide line $line: $node: writes $file"
        printf '%s\n' "$body" | sed "s/^node-id = \"node1\"/node-id = \"$node\"/" |
          lab_exec "$node" tee "$file" >/dev/null
      done
      return 0
      ;;
    *) die "guide line $line: a runbook comment this runner does not know: '$where'" ;;
  esac
  [[ $lang == sh ]] || die "guide line $line: only sh blocks run; a $lang block is written to a file or skipped"
  local node
  for node in "${nodes[@]}"; do
    log "guide line $line: on $node: $(head -1 <<<"$body")$( (($(wc -l <<<"$body") > 1)) && echo ' ...')"
    status=0
    if [[ $node == client ]]; then
      output=$(lab_client env -i HOME="$RUN/client" PATH="$LAB_PATH" bash -e -o pipefail -c "$body" 2>&1) || status=$?
    else
      output=$(lab_exec "$node" bash -e -o pipefail -c "$body" 2>&1) || status=$?
    fi
    printf '%s\n' "$output" | sed "s/^/    $node| /" >&2
    ((status == 0)) || die "guide line $line failed on $node (exit $status)"
    if [[ -n $expect && $output != *"$expect"* ]]; then
      die "guide line $line on $node: the output lacks '$expect'"
    fi
  done
}

# The guide from the installed package to a held VIP, then `apivip doctor` on each node.
runbook_run() {
  runbook_extract
  local started=$SECONDS name
  for name in "$RUN"/runbook/*.body; do
    runbook_block "${name%.body}"
  done
  retry_for 20 vip_holder >/dev/null || die "after the guide, no node holds the VIP"
  log "the guide ran in $((SECONDS - started))s; $(vip_holder) holds the VIP"
  local node failed=()
  for node in "${LAB_NODES[@]}"; do
    local report status=0
    report=$(lab_exec "$node" apivip doctor 2>&1) || status=$?
    printf '%s\n' "$report" | sed "s/^/    $node| /" >&2
    # The doctor must have found the daemon running, and nothing at all to fix.
    [[ $status == 0 && $report == *"the running daemon (pid"* && $report == *"nothing to fix"* ]] || failed+=("$node")
  done
  ((${#failed[@]} == 0)) || die "apivip doctor finds something to fix on: ${failed[*]}"
}

# Prints the nodes whose eth0 carries the VIP, on one line; fails when `ip` fails for a node, since
# that says nothing of the VIP. (The addresses are read whole, not piped into `grep -q`: under
# pipefail, grep ending early would fail ip with SIGPIPE and hide a holder.)
vip_carriers() {
  local node addresses carriers=()
  for node in "${LAB_NODES[@]}"; do
    addresses=$(ip -n "$(lab_ns "$node")" -o addr show dev eth0) || return 1
    [[ $addresses == *" $LAB_VIP/"* ]] && carriers+=("$node")
  done
  echo "${carriers[*]}"
}

# Prints the node whose eth0 carries the VIP; fails when none does or more than one does.
vip_holder() {
  local carriers
  carriers=$(vip_carriers 2>/dev/null) || return 1
  [[ -n $carriers && $carriers != *" "* ]] || return 1
  echo "$carriers"
}
