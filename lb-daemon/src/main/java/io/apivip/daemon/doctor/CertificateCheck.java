package io.apivip.daemon.doctor;

import io.apivip.daemon.config.Settings.Backend;
import io.netty.util.NetUtil;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Does every apiserver's certificate name the VIP and the DNS names clients use, and when does it
 * end? Clients of {@code https://VIP:6443} verify the certificate of whichever apiserver the proxy
 * picked, so each one must list every name they connect by among its subject alternative names. The
 * certificate is read from a TLS handshake, as clients see it.
 */
final class CertificateCheck {

  static final String CHECK = "certificate";
  private static final int SAN_DNS = 2;
  private static final int SAN_IP = 7;
  private static final String GUIDE = "docs/microk8s.md section 4";

  private CertificateCheck() {}

  static List<Finding> check(
      List<Backend> backends, VipNames names, Duration timeout, Instant now) {
    List<Finding> findings = new ArrayList<>();
    for (Backend backend : backends) {
      String where =
          backend.address().getAddress().getHostAddress() + ":" + backend.address().getPort();
      String host =
          backend.nodeId().isEmpty()
              ? "the host of " + backend.address().getAddress().getHostAddress()
              : backend.nodeId();
      String who =
          (backend.nodeId().isEmpty() ? "the" : backend.nodeId() + "'s") + " apiserver at " + where;
      X509Certificate certificate;
      try {
        certificate = fetch(backend.address(), timeout);
      } catch (IOException e) {
        findings.add(
            Finding.warn(
                CHECK,
                "cannot read the certificate of "
                    + who
                    + " ("
                    + e.getMessage()
                    + "): is it running? (microk8s status on "
                    + host
                    + ")"));
        continue;
      }
      findings.add(judge(certificate, names, who, host));
      findings.add(
          ExpiryCheck.judge(
              "the certificate of " + who,
              certificate,
              now,
              "on " + host + ": " + MicroK8sFixes.RENEW_SERVER_CERT));
    }
    return findings;
  }

  /** The finding for one apiserver's certificate: does it name the VIP and every DNS name? */
  static Finding judge(X509Certificate certificate, VipNames names, String who, String host) {
    List<String> ips = sans(certificate, SAN_IP);
    List<String> dns = sans(certificate, SAN_DNS);
    List<String> missing = new ArrayList<>();
    if (ips.stream()
        .map(NetUtil::createInetAddressFromIpAddressString)
        .noneMatch(names.vip()::equals)) {
      missing.add("the VIP " + names.vip().getHostAddress());
    }
    List<String> missingDns = new ArrayList<>();
    for (Map.Entry<String, String> name : names.dnsNames().entrySet()) {
      if (dns.stream().noneMatch(name.getKey()::equalsIgnoreCase)) {
        missingDns.add(name.getKey());
        missing.add(name.getKey() + " (" + name.getValue() + ")");
      }
    }
    if (missing.isEmpty()) {
      return Finding.ok(CHECK, who + " presents a certificate that names " + names.describe());
    }
    return Finding.fail(
        CHECK,
        who
            + " presents a certificate without "
            + String.join(", ", missing)
            + " (its IP names: "
            + (ips.isEmpty() ? "none" : String.join(", ", ips))
            + (dns.isEmpty() ? "" : "; its DNS names: " + String.join(", ", dns))
            + "), so clients that connect by that name reject it: on "
            + host
            + " run "
            + MicroK8sFixes.setup(missingDns)
            + " (it adds the names to csr.conf.template), then "
            + MicroK8sFixes.REFRESH_SERVER_CERT
            + " ("
            + GUIDE
            + ")");
  }

  /** The IP addresses among the certificate's subject alternative names, as it writes them. */
  static List<String> ipNames(X509Certificate certificate) {
    return sans(certificate, SAN_IP);
  }

  /** The subject alternative names of one kind (2 DNS, 7 IP), as the certificate writes them. */
  private static List<String> sans(X509Certificate certificate, int kind) {
    Collection<List<?>> sans;
    try {
      sans = certificate.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      return List.of();
    }
    if (sans == null) {
      return List.of();
    }
    return sans.stream()
        .filter(
            san ->
                san.size() == 2 && Objects.equals(san.get(0), kind) && san.get(1) instanceof String)
        .map(san -> (String) san.get(1))
        .toList();
  }

  /**
   * The leaf certificate an apiserver presents. Any certificate is accepted: it is only looked at,
   * never trusted with data. It is captured while the handshake checks it, so a server that then
   * demands a client certificate still shows it.
   */
  static X509Certificate fetch(InetSocketAddress address, Duration timeout) throws IOException {
    Capture capture = new Capture();
    SSLContext context;
    try {
      context = SSLContext.getInstance("TLS");
      context.init(null, new TrustManager[] {capture}, null);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this Java runtime offers no TLS", e);
    }
    int millis = (int) timeout.toMillis();
    try (Socket raw = new Socket()) {
      raw.connect(address, millis);
      raw.setSoTimeout(millis);
      try (SSLSocket tls =
          (SSLSocket)
              context
                  .getSocketFactory()
                  .createSocket(raw, address.getHostString(), address.getPort(), false)) {
        tls.startHandshake();
      } catch (IOException e) {
        if (capture.leaf == null) {
          throw e;
        }
      }
    }
    if (capture.leaf == null) {
      throw new IOException("the server presented no certificate");
    }
    return capture.leaf;
  }

  /** Accepts and remembers the server's certificate. */
  private static final class Capture extends X509ExtendedTrustManager {
    volatile X509Certificate leaf;

    private void remember(X509Certificate[] chain) {
      if (chain != null && chain.length > 0) {
        leaf = chain[0];
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {
      remember(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
      remember(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
      remember(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {
      throw new UnsupportedOperationException("client side only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
      throw new UnsupportedOperationException("client side only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
      throw new UnsupportedOperationException("client side only");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
