#!/usr/bin/env bash
# The part of MicroK8s's canonical/microk8s microk8s-resources/actions/common/utils.sh that apivip
# meets: how the server certificate is rendered and issued, how client kubeconfigs are written, and
# the apiservice-kicker's gate. Sourced (installed as $SNAP/actions/common/utils.sh) by
# install-fixture, apiservice-kicker, run-kubelite-with-args and microk8s.wrapper; also by
# test-fixture, which calls the functions directly.
#
# Every function follows the function of the same name in utils.sh (master of 2025, the version with
# get_microk8s_or_cis_group and create_kubeconfig_x509); differences are said where they are.
# Expects SNAP (e.g. /snap/microk8s/current) and SNAP_DATA (/var/snap/microk8s/current) set.

# Not `set -e` here: this file is sourced, and each caller sets its own options.

# Test seams (unset on a node): FIXTURE_HOSTNAME_I replaces the output of `hostname -I`,
# FIXTURE_IP_ROUTE the output of `ip route`, FIXTURE_KUBELITE_ACTIVE (yes/no) asks systemd
# nothing.

fixture_hostname_i() {
  if [ -n "${FIXTURE_HOSTNAME_I+set}" ]; then
    echo "$FIXTURE_HOSTNAME_I"
  else
    hostname -I
  fi
}

# utils.sh get_ips: `hostname -I` without link-local IPv4 and without the addresses of CNI
# interfaces (vxlan.calico flannel.1 cni0 ovn0). IPv6 addresses of hostname -I stay, as there.
get_ips() {
  local ip_addr
  ip_addr="$(fixture_hostname_i | sed 's/169\.254\.[0-9]\{1,3\}\.[0-9]\{1,3\}//g')"
  local cni_ips="" cni_ip cni_interface
  for cni_interface in vxlan.calico flannel.1 cni0 ovn0; do
    # `|| true`: most nodes lack most of these interfaces (callers may set -o pipefail).
    cni_ip="$(ip -o -4 addr list "$cni_interface" 2>/dev/null | grep -v 'inet 169.254' | awk '{print $4}' | cut -d/ -f1 | head -1 || true)"
    cni_ips="/$cni_ip/$cni_ips"
  done
  # utils.sh tests `-z "$IP_ADDR"` on the raw text: blanks left by the sed count as text there too.
  if [[ -z "$ip_addr" ]]; then
    echo "none"
  else
    local ips="" ip
    for ip in $ip_addr; do
      (echo "$cni_ips" | grep -q "/$ip/") || ips+="${ips:+ }$ip"
    done
    echo "$ips"
  fi
}

# utils.sh render_csr_conf: csr.conf.template -> csr.conf.rendered, the node's addresses as IP.3,
# IP.4, ... in place of #MOREIPS, skipping an index the template already uses (an operator's
# "IP.99 = VIP" line stays where it is).
render_csr_conf() {
  local ip_addresses
  ip_addresses="$(get_ips)"
  cp "${SNAP_DATA}/certs/csr.conf.template" "${SNAP_DATA}/certs/csr.conf.rendered"
  if ! [ "$ip_addresses" == "127.0.0.1" ] && ! [ "$ip_addresses" == "none" ]; then
    local ips='' sep='' ip_id ip_addr
    local -i i=3
    for ip_addr in $ip_addresses; do
      ip_id="IP.$((i++))"
      # Bounded: the template has finitely many lines, so at most that many indices are taken.
      while grep '^'"${ip_id}" "${SNAP_DATA}/certs/csr.conf.template" >/dev/null; do
        ip_id="IP.$((i++))"
      done
      ips+="${sep}${ip_id} = ${ip_addr}"
      sep='\n'
    done
    sed -i "s/#MOREIPS/${ips}/g" "${SNAP_DATA}/certs/csr.conf.rendered"
  else
    sed -i 's/#MOREIPS//g' "${SNAP_DATA}/certs/csr.conf.rendered"
  fi
}

# utils.sh gen_server_cert: a new CSR from the existing server.key and csr.conf, signed by the
# cluster CA for 365 days with csr.conf's v3_ext section (SANs, serverAuth+clientAuth). MicroK8s
# runs its own openssl through openssl.wrapper (OPENSSL_CONF of the snap); here the system's.
gen_server_cert() (
  openssl req -new -sha256 -key "${SNAP_DATA}/certs/server.key" -out "${SNAP_DATA}/certs/server.csr" -config "${SNAP_DATA}/certs/csr.conf"
  openssl x509 -req -sha256 -in "${SNAP_DATA}/certs/server.csr" -CA "${SNAP_DATA}/certs/ca.crt" -CAkey "${SNAP_DATA}/certs/ca.key" \
    -CAcreateserial -out "${SNAP_DATA}/certs/server.crt" -days 365 -extensions v3_ext -extfile "${SNAP_DATA}/certs/csr.conf"
)

# utils.sh refresh_csr_conf, which refresh_certs.py runs before gen_server_cert since MicroK8s PR
# #3740: the template is read again, with the addresses `hostname -I` shows now.
refresh_csr_conf() {
  render_csr_conf
  cp "${SNAP_DATA}/certs/csr.conf.rendered" "${SNAP_DATA}/certs/csr.conf"
}

# utils.sh produce_certs, the server certificate's part: keys and CA made when missing (2048-bit
# RSA; the CA self-signed, CN=10.152.183.1, 3650 days), then csr.conf.rendered compared with
# csr.conf; when they differ, csr.conf is replaced and server.crt issued again. Prints 1 when it
# issued, 0 when not. Left out: serviceaccount.key and the front-proxy CA and client certificate
# (apivip touches neither); utils.sh also re-issues front-proxy-client.crt here.
produce_certs() {
  local key
  for key in ca.key server.key; do
    if ! [ -f "${SNAP_DATA}/certs/$key" ]; then
      openssl genrsa -out "${SNAP_DATA}/certs/$key" 2048 2>/dev/null
    fi
  done
  if ! [ -f "${SNAP_DATA}/certs/ca.crt" ]; then
    openssl req -x509 -new -sha256 -nodes -days 3650 -key "${SNAP_DATA}/certs/ca.key" -subj "/CN=10.152.183.1" -out "${SNAP_DATA}/certs/ca.crt"
  fi
  render_csr_conf
  if ! [ -f "${SNAP_DATA}/certs/csr.conf" ]; then
    echo "changeme" >"${SNAP_DATA}/certs/csr.conf"
  fi
  local force
  if ! cmp -s "${SNAP_DATA}/certs/csr.conf.rendered" "${SNAP_DATA}/certs/csr.conf"; then
    force=true
    cp "${SNAP_DATA}/certs/csr.conf.rendered" "${SNAP_DATA}/certs/csr.conf"
  else
    force=false
  fi
  if $force; then
    # MicroK8s's command substitution `$(produce_certs)` captures openssl's chatter too and compares
    # the whole text with 1; its stderr goes to the journal. Keep stdout to the one digit.
    gen_server_cert >/dev/null
    echo "1"
  else
    echo "0"
  fi
}

# utils.sh generate_csr: a CSR for a component's client certificate, its key made when missing
# (2048-bit RSA, owner 0:0, mode 0600); the CSR on stdout.
generate_csr() {
  if [ ! -f "$2" ]; then
    openssl genrsa -out "$2" 2048 2>/dev/null
    chown 0:0 "$2" 2>/dev/null || true
    chmod 0600 "$2" || true
  fi
  openssl req -new -sha256 -subj "$1" -key "$2"
}

# utils.sh generate_csr_with_sans: as generate_csr, with DNS:<hostname> and the node's IPs as SANs
# (the kubelet's certificate). The hostname is FIXTURE_NODE_NAME when set (install-fixture into a
# test root), else `hostname`, lower case as there.
generate_csr_with_sans() {
  local host san ip
  host="$(fixture_node_name)"
  san="DNS:$host"
  for ip in $(get_ips); do
    san="$san, IP:$ip"
  done
  if [ ! -f "$2" ]; then
    openssl genrsa -out "$2" 2048 2>/dev/null
    chown 0:0 "$2" 2>/dev/null || true
    chmod 0600 "$2" || true
  fi
  openssl req -new -sha256 -subj "$1" -key "$2" -addext "subjectAltName = $san"
}

fixture_node_name() {
  if [ -n "${FIXTURE_NODE_NAME:-}" ]; then
    echo "$FIXTURE_NODE_NAME" | tr '[:upper:]' '[:lower:]'
  else
    hostname | tr '[:upper:]' '[:lower:]'
  fi
}

# utils.sh sign_certificate: the CSR on stdin signed by the cluster CA for 3650 days, its SANs
# copied into the certificate; the certificate on stdout.
sign_certificate() {
  local csr extensions="" alt_names
  csr="$(cat)"
  # `|| true`: without SANs grep finds nothing, which a caller's `set -o pipefail` would take as failure.
  alt_names="$(echo "$csr" | openssl req -text | grep "X509v3 Subject Alternative Name:" -A1 | tail -n 1 | sed 's,IP Address:,IP:,g' || true)"
  if test "x$alt_names" != "x"; then
    extensions="subjectAltName = $alt_names"
  fi
  echo "$csr" | openssl x509 -req -sha256 -CA "${SNAP_DATA}/certs/ca.crt" -CAkey "${SNAP_DATA}/certs/ca.key" -CAcreateserial -days 3650 -extfile <(echo "${extensions}") 2>/dev/null
}

# utils.sh create_user_certificates, without apiserver-kubelet-client (the kubelet is not mimicked).
create_user_certificates() {
  local host
  host="$(fixture_node_name)"
  generate_csr_with_sans "/CN=system:node:$host/O=system:nodes" "${SNAP_DATA}/certs/kubelet.key" | sign_certificate >"${SNAP_DATA}/certs/kubelet.crt"
  generate_csr /CN=admin/O=system:masters "${SNAP_DATA}/certs/client.key" | sign_certificate >"${SNAP_DATA}/certs/client.crt"
  generate_csr /CN=system:kube-proxy "${SNAP_DATA}/certs/proxy.key" | sign_certificate >"${SNAP_DATA}/certs/proxy.crt"
  generate_csr /CN=system:kube-scheduler "${SNAP_DATA}/certs/scheduler.key" | sign_certificate >"${SNAP_DATA}/certs/scheduler.crt"
  generate_csr /CN=system:kube-controller-manager "${SNAP_DATA}/certs/controller.key" | sign_certificate >"${SNAP_DATA}/certs/controller.crt"
}

# utils.sh create_kubeconfig_x509: $SNAP/client-x509.config.template with the CA, the client
# certificate and key embedded (base64), server https://127.0.0.1:<--secure-port>.
create_kubeconfig_x509() {
  local kubeconfig=$1 user=$2 cert=$3 key=$4 ca=$5
  local apiserver="${6:-"127.0.0.1"}" apiserver_port port ca_data cert_data key_data config_file
  apiserver_port="$(grep -- "--secure-port" "$SNAP_DATA/args/kube-apiserver" | tr "=" " " | awk '{print $2}')"
  port="${7:-${apiserver_port}}"
  ca_data=$(base64 -w 0 <"$ca")
  cert_data=$(base64 -w 0 <"$cert")
  key_data=$(base64 -w 0 <"$key")
  config_file="${SNAP_DATA}/credentials/${kubeconfig}"
  cp "${SNAP}/client-x509.config.template" "${config_file}"
  sed -i 's/CADATA/'"${ca_data}"'/g' "${config_file}"
  sed -i 's/NAME/'"${user}"'/g' "${config_file}"
  sed -i 's/PATHTOCERT/'"${cert_data}"'/g' "${config_file}"
  sed -i 's/PATHTOKEYCERT/'"${key_data}"'/g' "${config_file}"
  sed -i 's/client-certificate/client-certificate-data/g' "${config_file}"
  sed -i 's/client-key/client-key-data/g' "${config_file}"
  sed -i 's/127.0.0.1/'"${apiserver}"'/g' "${config_file}"
  sed -i 's/16443/'"${port}"'/g' "${config_file}"
}

# utils.sh create_user_kubeconfigs.
create_user_kubeconfigs() {
  local host c="${SNAP_DATA}/certs"
  host="$(fixture_node_name)"
  create_kubeconfig_x509 "client.config" "admin" "$c/client.crt" "$c/client.key" "$c/ca.crt"
  create_kubeconfig_x509 "controller.config" "system:kube-controller-manager" "$c/controller.crt" "$c/controller.key" "$c/ca.crt"
  create_kubeconfig_x509 "scheduler.config" "system:kube-scheduler" "$c/scheduler.crt" "$c/scheduler.key" "$c/ca.crt"
  create_kubeconfig_x509 "proxy.config" "system:kube-proxy" "$c/proxy.crt" "$c/proxy.key" "$c/ca.crt"
  create_kubeconfig_x509 "kubelet.config" "system:node:${host}" "$c/kubelet.crt" "$c/kubelet.key" "$c/ca.crt"
}

# utils.sh get_default_ip (microk8s config uses it): the first IPv4 address of the default route's
# interface, else the source address towards 255.255.255.255, else "none".
get_default_ip() {
  local default_interface ip_addr
  default_interface="$(ip route show default 2>/dev/null | awk '{for(i=1; i<NF; i++) if($i=="dev") print$(i+1)}' | head -1 || true)"
  ip_addr=""
  if [ -n "$default_interface" ]; then
    ip_addr="$(ip -o -4 addr list "$default_interface" | awk '{print $4}' | cut -d/ -f1 | head -1)"
  fi
  if [[ -z "$ip_addr" ]]; then
    ip_addr="$(ip route get 255.255.255.255 2>/dev/null | awk '{for(i=1; i<NF; i++) if($i=="src") print$(i+1)}' | head -1 || true)"
  fi
  if [[ -z "$ip_addr" ]]; then
    echo "none"
  else
    echo "${ip_addr}"
  fi
}

fixture_ip_route() {
  if [ -n "${FIXTURE_IP_ROUTE+set}" ]; then
    echo "$FIXTURE_IP_ROUTE"
  else
    ip route
  fi
}

# systemctl, or FIXTURE_SYSTEMCTL in its place (tests: a command that records what it was asked).
fixture_systemctl() {
  if [ -n "${FIXTURE_SYSTEMCTL:-}" ]; then
    "$FIXTURE_SYSTEMCTL" "$@"
  else
    systemctl "$@"
  fi
}

fixture_kubelite_active() {
  if [ -n "${FIXTURE_KUBELITE_ACTIVE:-}" ]; then
    [ "$FIXTURE_KUBELITE_ACTIVE" = "yes" ]
  else
    # `snapctl services microk8s.daemon-kubelite | grep active` in the kicker.
    fixture_systemctl is-active --quiet snap.microk8s.daemon-kubelite.service
  fi
}

# The apiservice-kicker's gate (microk8s-resources/wrappers/apiservice-kicker): it looks at the
# certificate only when the node has no var/lock/no-cert-reissue (made by `microk8s join`), sets
# neither --advertise-address nor --bind-address in args/kube-apiserver, has a default route
# (`ip route | grep default`: IPv4 only, as there) and kubelite is active. Returns 0 when all hold.
kicker_gate() {
  ! [ -e "${SNAP_DATA}/var/lock/no-cert-reissue" ] &&
    ! grep -E "(--advertise-address|--bind-address)" "$SNAP_DATA/args/kube-apiserver" &>/dev/null &&
    fixture_ip_route | grep default &>/dev/null &&
    fixture_kubelite_active
}

# What one round of the kicker decides, for tests and for the kicker itself: prints "reissue" after
# re-issuing server.crt (produce_certs printed 1), "unchanged" when the rendering matched csr.conf,
# "gated" when kicker_gate said no (nothing is rendered then, as in the kicker).
kicker_round() {
  if ! kicker_gate; then
    echo "gated"
    return 0
  fi
  local csr_modified
  csr_modified="$(produce_certs)"
  if [[ "$csr_modified" -eq "1" ]]; then
    echo "reissue"
  else
    echo "unchanged"
  fi
}
