package io.apivip.daemon.doctor;

import java.util.Collection;

/**
 * The commands the doctor's MicroK8s fixes name, in one place: {@code apivip setup microk8s} makes
 * a node ready (the cluster CA and a health client certificate in /etc/apivip, the VIP and DNS
 * names in {@code csr.conf.template}) and, asked with {@code --refresh-server-cert} on a drained
 * node, has MicroK8s issue the API server's certificate again from the template.
 */
final class MicroK8sFixes {

  static final String SETUP = "sudo apivip setup microk8s";

  /** Drained first, so no client is routed to the apiserver while MicroK8s restarts it. */
  static final String REFRESH_SERVER_CERT =
      "sudo apivip drain --wait && " + SETUP + " --refresh-server-cert && sudo apivip resume";

  /**
   * A served certificate that is ending is issued again as it is; setup's refresh runs only when a
   * name is missing.
   */
  static final String RENEW_SERVER_CERT =
      "sudo apivip drain --wait && sudo microk8s refresh-certs --cert server.crt && sudo apivip"
          + " resume";

  private MicroK8sFixes() {}

  /** The setup command that adds the VIP and these DNS names to the template. */
  static String setup(Collection<String> dnsNames) {
    StringBuilder command = new StringBuilder(SETUP);
    for (String name : dnsNames) {
      command.append(" --dns ").append(name);
    }
    return command.toString();
  }
}
