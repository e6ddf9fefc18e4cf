package io.apivip.health;

import io.apivip.lab.Pki;
import io.apivip.lab.apiserver.StandInApiServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Test fixtures: a CA with its files, stand-in apiservers, and probers over a shared NIO group. */
final class Lab {

  final Pki pki = Pki.newCa("health-test-ca");
  final Path caFile;
  final Path clientCert;
  final Path clientKey;
  final Pki.Issued serverCertificate = pki.issueServer(List.of("127.0.0.1", "localhost"));

  Lab(Path dir) throws IOException {
    caFile = dir.resolve("ca.crt");
    pki.writeCa(caFile);
    clientCert = dir.resolve("client.crt");
    clientKey = dir.resolve("client.key");
    pki.issueClient("apivip-health").write(clientCert, clientKey);
  }

  static EventLoopGroup newGroup(int threads) {
    return new MultiThreadIoEventLoopGroup(threads, NioIoHandler.newFactory());
  }

  static void shutdown(EventLoopGroup group) {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  StandInApiServer server(String name) {
    return StandInApiServer.start(
        name, new InetSocketAddress("127.0.0.1", 0), serverCertificate, Optional.empty());
  }

  StandInApiServer server(String name, Pki.Issued certificate, Optional<X509Certificate> clientCa) {
    return StandInApiServer.start(
        name, new InetSocketAddress("127.0.0.1", 0), certificate, clientCa);
  }

  static Backend backend(StandInApiServer server) {
    return new Backend(server.name(), server.address());
  }

  TlsOptions tls() {
    return TlsOptions.verifiedBy(caFile);
  }

  static NettyProber prober(EventLoopGroup group, CheckSpec spec) {
    return new NettyProber(group, NioSocketChannel.class, spec);
  }

  CheckSpec.Https readyz(Duration timeout) {
    return CheckSpec.Https.readyz(timeout, tls());
  }
}
