package io.apivip.bench.failover;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The files of one node of the keepalived + HAProxy recipe from the kubeadm high-availability
 * guide, as the benchmark runs it: keepalived's VRRP instance (over unicast, like apivip's
 * heartbeats), the guide's check script, and HAProxy in TCP mode on :6443 with HTTPS health checks
 * of every apiserver. Only what a lab needs differs from the guide: addresses, unicast peers, the
 * advertisement interval of the variant, and a local stats page the benchmark reads.
 *
 * @param master the node that starts as MASTER with priority 101 (the others: BACKUP, 100), as in
 *     the guide
 * @param peers the other nodes' addresses
 * @param backends every node's apiserver, this one's included
 */
public record KeepalivedConfig(
    Variant variant,
    String node,
    String address,
    List<String> peers,
    boolean master,
    String vip,
    int vipPrefixLength,
    String interfaceName,
    List<Backend> backends,
    Ports ports,
    Path checkScript) {

  /** The guide's virtual router id ("many distros pre-configure its value to 51"). */
  static final int VIRTUAL_ROUTER_ID = 51;

  static final String BACKEND = "apiserverbackend";

  public KeepalivedConfig {
    peers = List.copyOf(peers);
    backends = List.copyOf(backends);
  }

  /**
   * How often the master advertises: "1" (keepalived's default, VRRPv2) or a fraction of a second,
   * which needs VRRPv3 (v2 advertises in whole seconds and has no fractions).
   */
  public record Variant(String title, String advertInterval, int vrrpVersion) {
    public static final Variant DEFAULT = new Variant("keepalived + HAProxy, advert_int 1", "1", 2);
    public static final Variant FAST =
        new Variant("keepalived + HAProxy, advert_int 0.1 (VRRPv3)", "0.1", 3);

    public Variant {
      if (vrrpVersion != 2 && vrrpVersion != 3) {
        throw new IllegalArgumentException("vrrp_version is 2 or 3, got " + vrrpVersion);
      }
      if (vrrpVersion == 2 && !advertInterval.matches("[1-9][0-9]*")) {
        throw new IllegalArgumentException(
            "VRRPv2 advertises in whole seconds, got advert_int " + advertInterval);
      }
    }
  }

  /** An apiserver HAProxy balances over. */
  public record Backend(String name, String address, int port) {}

  /** HAProxy's listener (the guide's APISERVER_DEST_PORT) and its local stats page. */
  public record Ports(int proxy, int stats) {}

  /** keepalived.conf: the guide's instance with unicast peers and the variant's interval. */
  public String keepalivedConf() {
    String version = variant.vrrpVersion() == 3 ? "    vrrp_version 3\n" : "";
    // VRRPv3 has no authentication; keepalived warns about and ignores the block there.
    String authentication =
        variant.vrrpVersion() == 2
            ? "    authentication {\n        auth_type PASS\n        auth_pass 42\n    }\n"
            : "";
    String unicastPeers =
        peers.stream().map(peer -> "        " + peer).collect(Collectors.joining("\n"));
    return """
    ! Written by the apivip failover benchmark for node %1$s (%2$s).
    global_defs {
        router_id %1$s
        script_user root
        enable_script_security
    %3$s}
    vrrp_script check_apiserver {
        script "%4$s"
        interval 3
        weight -2
        fall 10
        rise 2
    }
    vrrp_instance VI_1 {
        state %5$s
        interface %6$s
        virtual_router_id %7$d
        priority %8$d
        advert_int %9$s
        unicast_src_ip %10$s
        unicast_peer {
    %11$s
        }
    %12$s    virtual_ipaddress {
            %13$s/%14$d dev %6$s
        }
        track_script {
            check_apiserver
        }
    }
    """
        .formatted(
            node,
            variant.title(),
            version,
            checkScript,
            master ? "MASTER" : "BACKUP",
            interfaceName,
            VIRTUAL_ROUTER_ID,
            master ? 101 : 100,
            variant.advertInterval(),
            address,
            unicastPeers,
            authentication,
            vip,
            vipPrefixLength);
  }

  /**
   * The guide's check_apiserver.sh: the API answers through this node's HAProxy, and on the VIP
   * while this node holds it.
   */
  public String checkScriptText() {
    return """
    #!/bin/sh
    # Written by the apivip failover benchmark: the kubeadm guide's check_apiserver.sh.
    errorExit() {
        echo "*** $*" 1>&2
        exit 1
    }
    curl --silent --max-time 2 --insecure https://127.0.0.1:%1$d/ -o /dev/null \
    || errorExit "Error GET https://127.0.0.1:%1$d/"
    if ip -4 addr show dev %2$s | grep -q " %3$s/"; then
        curl --silent --max-time 2 --insecure https://%3$s:%1$d/ -o /dev/null \
    || errorExit "Error GET https://%3$s:%1$d/"
    fi
    """
        .formatted(ports.proxy(), interfaceName, vip);
  }

  /**
   * haproxy.cfg: the guide's defaults and its TCP frontend on every address, round robin over the
   * apiservers with an HTTPS GET /readyz check (HAProxy's default inter 2s, fall 3, rise 2), and a
   * stats page on loopback that the benchmark reads to know when every apiserver is back up.
   */
  public String haproxyCfg() {
    String servers =
        backends.stream()
            .map(
                backend ->
                    "    server %s %s:%d check check-ssl verify none"
                        .formatted(backend.name(), backend.address(), backend.port()))
            .collect(Collectors.joining("\n"));
    return """
    # Written by the apivip failover benchmark for node %1$s: the kubeadm guide's haproxy.cfg.
    global
        maxconn 4000

    defaults
        mode                    http
        option                  dontlognull
        option                  redispatch
        retries                 1
        timeout http-request    10s
        timeout queue           20s
        timeout connect         5s
        timeout client          20s
        timeout server          20s
        timeout http-keep-alive 10s
        timeout check           10s

    frontend apiserver
        bind *:%2$d
        mode tcp
        default_backend %3$s

    backend %3$s
        option httpchk GET /readyz
        http-check expect status 200
        mode tcp
        balance roundrobin
    %4$s

    frontend stats
        bind 127.0.0.1:%5$d
        stats enable
        stats uri /stats
    """
        .formatted(node, ports.proxy(), BACKEND, servers, ports.stats());
  }

  /**
   * Whether HAProxy's stats CSV ({@code /stats;csv}) shows every server of the apiserver backend
   * UP; a server on its way up ("UP 1/2") or down ("DOWN", "DOWN 1/3") is not.
   */
  public static boolean allBackendsUp(String statsCsv, int expectedServers) {
    String[] lines = statsCsv.split("\n");
    if (lines.length == 0 || !lines[0].startsWith("# pxname,svname,")) {
      return false;
    }
    List<String> header = List.of(lines[0].substring(2).split(",", -1));
    int status = header.indexOf("status");
    int up = 0;
    for (int i = 1; i < lines.length; i++) {
      String[] fields = lines[i].split(",", -1);
      if (fields.length <= status || !fields[0].equals(BACKEND) || fields[1].equals("BACKEND")) {
        continue;
      }
      if (!fields[status].equals("UP")) {
        return false;
      }
      up++;
    }
    return up == expectedServers;
  }
}
