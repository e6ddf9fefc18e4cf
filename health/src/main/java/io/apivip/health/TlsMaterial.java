package io.apivip.health;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The client TLS context and bearer token of checks, read from their files and read again when a
 * file changes (MicroK8s renews its certificates in place), so a renewal needs no restart.
 *
 * <p>Reads files: call it off event loops. Thread-safe.
 */
final class TlsMaterial {

  /** Why the files could not be used; the message names the file and the problem. */
  static final class Unusable extends Exception {
    Unusable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final TlsOptions options;
  private final Optional<Path> bearerTokenFile;
  private List<String> loadedStamp = List.of();
  private SslContext context;
  private Optional<String> token = Optional.empty();

  TlsMaterial(TlsOptions options, Optional<Path> bearerTokenFile) {
    this.options = options;
    this.bearerTokenFile = bearerTokenFile;
  }

  /** The context to use now, built again if any file changed since the last call. */
  synchronized SslContext context() throws Unusable {
    refresh();
    return context;
  }

  synchronized Optional<String> bearerToken() throws Unusable {
    refresh();
    return token;
  }

  private void refresh() throws Unusable {
    List<String> stamp = stamp();
    if (context != null && stamp.equals(loadedStamp)) {
      return;
    }
    try {
      SslContextBuilder builder = SslContextBuilder.forClient().sslProvider(SslProvider.JDK);
      if (options.verify()) {
        builder.endpointIdentificationAlgorithm("HTTPS");
        if (options.caFile().isPresent()) {
          builder.trustManager(Pem.certificates(options.caFile().get()));
        }
      } else {
        builder
            .endpointIdentificationAlgorithm(null)
            .trustManager(InsecureTrustManagerFactory.INSTANCE);
      }
      if (options.clientCertFile().isPresent()) {
        builder.keyManager(
            Pem.privateKey(options.clientKeyFile().orElseThrow()),
            Pem.certificates(options.clientCertFile().get()));
      }
      context = builder.build();
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new Unusable("cannot set up TLS from " + files() + ": " + Reasons.describe(e), e);
    }
    if (bearerTokenFile.isPresent()) {
      try {
        token = Optional.of(Files.readString(bearerTokenFile.get(), StandardCharsets.UTF_8).trim());
      } catch (IOException e) {
        throw new Unusable(
            "cannot read bearer token " + bearerTokenFile.get() + ": " + Reasons.describe(e), e);
      }
    }
    loadedStamp = stamp;
  }

  private List<Path> files() {
    List<Path> files = new ArrayList<>();
    options.caFile().filter(ca -> options.verify()).ifPresent(files::add);
    options.clientCertFile().ifPresent(files::add);
    options.clientKeyFile().ifPresent(files::add);
    bearerTokenFile.ifPresent(files::add);
    return files;
  }

  private List<String> stamp() throws Unusable {
    List<String> stamp = new ArrayList<>();
    for (Path file : files()) {
      try {
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        stamp.add(file + "@" + attributes.lastModifiedTime().toMillis() + "/" + attributes.size());
      } catch (IOException e) {
        throw new Unusable("cannot read " + file + ": " + Reasons.describe(e), e);
      }
    }
    return stamp;
  }
}
