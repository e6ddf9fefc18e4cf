package io.apivip.lab.apiserver;

import io.apivip.lab.Pki;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.SimpleTrustManagerFactory;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A stand-in kube-apiserver for tests, the demo and the lab: HTTPS with /readyz, /livez, /version
 * and a watch-like stream, whose behaviour can be switched at run time to the failures health
 * checks and the proxy must survive (see {@link Mode}). Every response carries {@value
 * #BACKEND_HEADER} naming the instance, so a test can tell which backend answered.
 *
 * <p>Owns a one-thread NIO event loop group. Thread-safe: {@link #mode(Mode)} may be called from
 * any thread.
 */
public final class StandInApiServer implements AutoCloseable {

  public static final String BACKEND_HEADER = "X-Apivip-Backend";

  private final String name;
  private final SslContext tls;
  private final EventLoopGroup group;
  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final ServerBootstrap bootstrap;
  private final InetSocketAddress address;
  private volatile Mode mode = Mode.HEALTHY;
  private volatile Optional<String> requiredToken = Optional.empty();
  private final Optional<Authentication> authentication;
  private Channel listener; // guarded by this; null while refusing or closed

  private StandInApiServer(
      String name,
      InetSocketAddress listen,
      SslContext tls,
      Optional<Authentication> authentication) {
    this.name = Objects.requireNonNull(name);
    this.tls = tls;
    this.authentication = Objects.requireNonNull(authentication);
    this.group =
        new MultiThreadIoEventLoopGroup(
            2, new DefaultThreadFactory("apiserver-" + name, true), NioIoHandler.newFactory());
    this.bootstrap =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_REUSEADDR, true)
            // A client that ends its side ends its watch, cleanly, as kube-apiserver does
            // (ApiHandler).
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel channel) {
                    accept(channel);
                  }
                });
    try {
      this.listener = bootstrap.bind(listen).syncUninterruptibly().channel();
    } catch (RuntimeException e) {
      group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      throw e;
    }
    this.address = (InetSocketAddress) listener.localAddress();
  }

  /**
   * Starts a server on {@code listen} (port 0 picks a free port) presenting {@code certificate};
   * when {@code clientCa} is present, the TLS handshake requires a client certificate signed by it.
   */
  public static StandInApiServer start(
      String name,
      InetSocketAddress listen,
      Pki.Issued certificate,
      Optional<X509Certificate> clientCa) {
    SslContextBuilder builder =
        SslContextBuilder.forServer(certificate.key(), certificate.certificate());
    clientCa.ifPresent(ca -> builder.trustManager(ca).clientAuth(ClientAuth.REQUIRE));
    return new StandInApiServer(name, listen, build(builder), Optional.empty());
  }

  /** As {@link #start(String, InetSocketAddress, Pki.Issued, Optional)}, from PEM files. */
  public static StandInApiServer start(
      String name, InetSocketAddress listen, Path certificate, Path key, Optional<Path> clientCa) {
    SslContextBuilder builder = SslContextBuilder.forServer(certificate.toFile(), key.toFile());
    clientCa.ifPresent(ca -> builder.trustManager(ca.toFile()).clientAuth(ClientAuth.REQUIRE));
    return new StandInApiServer(name, listen, build(builder), Optional.empty());
  }

  /**
   * Starts a server that authenticates as a stock MicroK8s kube-apiserver does (anonymous auth
   * off): see {@link Authentication}. The TLS handshake asks for a client certificate but completes
   * without one, or with one from another CA; such a request then gets 401.
   */
  public static StandInApiServer startAuthenticating(
      String name,
      InetSocketAddress listen,
      Pki.Issued certificate,
      Authentication authentication) {
    SslContextBuilder builder =
        SslContextBuilder.forServer(certificate.key(), certificate.certificate());
    return new StandInApiServer(
        name,
        listen,
        build(wantClientCertificate(builder, authentication)),
        Optional.of(authentication));
  }

  /**
   * As {@link #startAuthenticating(String, InetSocketAddress, Pki.Issued, Authentication)}, from
   * PEM files.
   */
  public static StandInApiServer startAuthenticating(
      String name,
      InetSocketAddress listen,
      Path certificate,
      Path key,
      Authentication authentication) {
    SslContextBuilder builder = SslContextBuilder.forServer(certificate.toFile(), key.toFile());
    return new StandInApiServer(
        name,
        listen,
        build(wantClientCertificate(builder, authentication)),
        Optional.of(authentication));
  }

  /**
   * kube-apiserver asks for a client certificate (Go's tls.RequestClientCert, naming the client CA
   * in the request) and checks it only when it authenticates the request, so a certificate from
   * another CA fails with 401 rather than in the handshake; likewise here.
   */
  private static SslContextBuilder wantClientCertificate(
      SslContextBuilder builder, Authentication authentication) {
    return builder
        .trustManager(new RequestAnyClientCertificate(authentication.clientCas()))
        .clientAuth(ClientAuth.OPTIONAL);
  }

  private static SslContext build(SslContextBuilder builder) {
    try {
      return builder.sslProvider(SslProvider.JDK).build();
    } catch (SSLException e) {
      throw new IllegalArgumentException("cannot set up TLS: " + e.getMessage(), e);
    }
  }

  /** Where it listens; the same address again after {@link Mode.Refuse} ends. */
  public InetSocketAddress address() {
    return address;
  }

  public String name() {
    return name;
  }

  public Mode mode() {
    return mode;
  }

  /**
   * From now on, answer 401 like kube-apiserver without anonymous auth to requests that do not
   * carry {@code Authorization: Bearer TOKEN}; empty accepts every request again.
   */
  public void requireBearerToken(Optional<String> token) {
    requiredToken = Objects.requireNonNull(token);
  }

  /** Connections open right now, as the server sees them. */
  public int openConnections() {
    return connections.size();
  }

  /**
   * Switches behaviour. Entering {@link Mode.Refuse} closes the listener and every open connection;
   * leaving it binds the same address again. Other switches apply to the next request.
   */
  public synchronized void mode(Mode next) {
    Objects.requireNonNull(next);
    if (next instanceof Mode.Refuse) {
      // Set first: a connection accepted but not yet in connections closes itself (accept).
      mode = next;
      closeListener();
      connections.close().syncUninterruptibly();
    } else if (listener == null && !group.isShuttingDown()) {
      listener = bootstrap.bind(address).syncUninterruptibly().channel();
    }
    mode = next;
  }

  private void accept(SocketChannel channel) {
    connections.add(channel);
    // Accepted while the mode became Refuse, after its close of every connection had begun.
    if (mode instanceof Mode.Refuse) {
      channel.close();
      return;
    }
    if (mode instanceof Mode.Hang) {
      // Read and drop, so the connection closes when the client gives up, but never answer.
      channel.pipeline().addLast(new Discard());
      return;
    }
    channel
        .pipeline()
        .addLast(tls.newHandler(channel.alloc()))
        .addLast(new HttpServerCodec())
        .addLast(new HttpObjectAggregator(64 * 1024))
        .addLast(new ApiHandler(name, this::mode, this::admits));
  }

  private boolean admits(SSLSession session, String authorization) {
    Optional<String> token = requiredToken;
    if (token.isPresent() && !("Bearer " + token.get()).equals(authorization)) {
      return false;
    }
    return authentication.map(a -> a.admits(session, authorization)).orElse(true);
  }

  /**
   * NIO closes a registered socket only when its selector next runs, after the close future has
   * completed; a task scheduled now runs after that, so once it has run, connects are refused.
   */
  private void closeListener() {
    if (listener != null) {
      listener.close().syncUninterruptibly();
      listener.eventLoop().schedule(() -> {}, 1, TimeUnit.MILLISECONDS).syncUninterruptibly();
      listener = null;
    }
  }

  @Override
  public synchronized void close() {
    closeListener();
    connections.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Override
  public String toString() {
    return "stand-in apiserver " + name + " at " + address + " (" + mode.command() + ")";
  }

  private static final class Discard extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
    }

    /** A hanging server still notices its client leave (half-closure is allowed for watches). */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
      if (event instanceof ChannelInputShutdownEvent) {
        ctx.close();
      } else {
        ctx.fireUserEventTriggered(event);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /**
   * Who may call when anonymous auth is off, as kube-apiserver's x509 and token-file authenticators
   * decide: a client certificate whose issuer is one of {@code clientCas} (its signature checks, it
   * is within its validity, and any extended key usage includes clientAuth), or {@code
   * Authorization: Bearer T} with T one of {@code tokens}. Everything else, /readyz and /version
   * included, gets 401.
   */
  public record Authentication(List<X509Certificate> clientCas, Set<String> tokens) {

    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

    public Authentication {
      clientCas = List.copyOf(clientCas);
      tokens = Set.copyOf(tokens);
    }

    /**
     * Reads every certificate of a PEM bundle ({@code --client-ca-file}) and, when given, the
     * tokens of a kube-apiserver token file ({@code --token-auth-file}: CSV, the token in the first
     * column).
     */
    public static Authentication fromFiles(Optional<Path> clientCaFile, Optional<Path> tokenFile)
        throws IOException {
      List<X509Certificate> cas = List.of();
      if (clientCaFile.isPresent()) {
        try (InputStream in = Files.newInputStream(clientCaFile.get())) {
          cas =
              CertificateFactory.getInstance("X.509").generateCertificates(in).stream()
                  .map(X509Certificate.class::cast)
                  .toList();
        } catch (GeneralSecurityException e) {
          throw new IllegalArgumentException(
              clientCaFile.get() + ": not a PEM certificate bundle: " + e.getMessage(), e);
        }
        if (cas.isEmpty()) {
          throw new IllegalArgumentException(clientCaFile.get() + ": no certificate in it");
        }
      }
      Set<String> tokens = new LinkedHashSet<>();
      if (tokenFile.isPresent()) {
        for (String line : Files.readAllLines(tokenFile.get(), StandardCharsets.UTF_8)) {
          String token = line.split(",", 2)[0].trim();
          if (!token.isEmpty() && !token.startsWith("#")) {
            tokens.add(token);
          }
        }
      }
      return new Authentication(cas, tokens);
    }

    boolean admits(SSLSession session, String authorization) {
      if (authorization != null
          && authorization.startsWith("Bearer ")
          && tokens.contains(authorization.substring("Bearer ".length()).trim())) {
        return true;
      }
      Certificate[] peer;
      try {
        peer = session.getPeerCertificates();
      } catch (SSLPeerUnverifiedException anonymous) {
        return false;
      }
      return peer.length > 0
          && peer[0] instanceof X509Certificate leaf
          && issuedByAClientCa(leaf)
          && forClients(leaf);
    }

    private boolean issuedByAClientCa(X509Certificate leaf) {
      try {
        leaf.checkValidity();
      } catch (GeneralSecurityException expiredOrNotYetValid) {
        return false;
      }
      for (X509Certificate ca : clientCas) {
        try {
          leaf.verify(ca.getPublicKey());
          return true;
        } catch (GeneralSecurityException notThisOne) {
          // try the next CA of the bundle
        }
      }
      return false;
    }

    private static boolean forClients(X509Certificate leaf) {
      try {
        List<String> usages = leaf.getExtendedKeyUsage();
        return usages == null || usages.contains(CLIENT_AUTH) || usages.contains("2.5.29.37.0");
      } catch (GeneralSecurityException unreadable) {
        return false;
      }
    }
  }

  /**
   * Asks for a certificate issued by one of the CAs, accepts whatever comes (or nothing): {@link
   * Authentication} judges it.
   */
  private static final class RequestAnyClientCertificate extends SimpleTrustManagerFactory {
    private final X509ExtendedTrustManager trustManager;

    RequestAnyClientCertificate(List<X509Certificate> cas) {
      X509Certificate[] issuers = cas.toArray(new X509Certificate[0]);
      this.trustManager =
          new X509ExtendedTrustManager() {
            @Override
            public void checkClientTrusted(
                X509Certificate[] chain, String authType, Socket socket) {}

            @Override
            public void checkClientTrusted(
                X509Certificate[] chain, String authType, SSLEngine engine) {}

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws java.security.cert.CertificateException {
              throw new java.security.cert.CertificateException("a server does not check servers");
            }

            @Override
            public void checkServerTrusted(
                X509Certificate[] chain, String authType, SSLEngine engine)
                throws java.security.cert.CertificateException {
              throw new java.security.cert.CertificateException("a server does not check servers");
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType)
                throws java.security.cert.CertificateException {
              throw new java.security.cert.CertificateException("a server does not check servers");
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
              return issuers.clone();
            }
          };
    }

    @Override
    protected void engineInit(KeyStore keyStore) {}

    @Override
    protected void engineInit(ManagerFactoryParameters parameters) {}

    @Override
    protected TrustManager[] engineGetTrustManagers() {
      return new TrustManager[] {trustManager};
    }
  }
}
