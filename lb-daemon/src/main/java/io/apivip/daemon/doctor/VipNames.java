package io.apivip.daemon.doctor;

import io.apivip.daemon.config.Settings;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The names clients reach the API by through apivip, which every apiserver's certificate and
 * MicroK8s's {@code csr.conf.template} must carry: the VIP, and DNS names, each with where it was
 * found (a kubeconfig whose server reaches apivip, or {@code health.server-name}, which the health
 * checks verify in every apiserver's certificate).
 */
record VipNames(InetAddress vip, Map<String, String> dnsNames) {

  VipNames {
    dnsNames = Collections.unmodifiableMap(new LinkedHashMap<>(dnsNames));
  }

  static VipNames of(
      Settings settings,
      List<KubeconfigCheck.Location> kubeconfigs,
      KubeconfigCheck.Resolver resolver) {
    Map<String, String> names = new LinkedHashMap<>();
    settings
        .health()
        .serverName()
        .filter(name -> !NetUtil.isValidIpV4Address(name) && !NetUtil.isValidIpV6Address(name))
        .ifPresent(name -> names.put(name.toLowerCase(Locale.ROOT), "health.server-name"));
    KubeconfigCheck.namesOfApivip(kubeconfigs, settings, resolver)
        .forEach((name, file) -> names.putIfAbsent(name, "the server of " + file));
    return new VipNames(settings.vip().address(), names);
  }

  /** "the VIP 192.0.2.100" or "the VIP 192.0.2.100 and k8s.example (the server of ...)". */
  String describe() {
    StringBuilder text = new StringBuilder("the VIP ").append(vip.getHostAddress());
    dnsNames.forEach(
        (name, source) ->
            text.append(" and ").append(name).append(" (").append(source).append(')'));
    return text.toString();
  }
}
