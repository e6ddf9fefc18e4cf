package io.apivip.lab.probe;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * The lab's client: a process in the client namespace that behaves like kubectl and watchers.
 *
 * <p>It opens a new TLS connection to the target every interval (verifying the certificate for the
 * target's address, as kubectl does), asks for {@code /version}, and prints one line per attempt:
 * {@code attempt <startMillis> ok|fail <millis> <backend-or-reason>}. With {@code --watchers N} it
 * also holds N watch streams open and, on the command {@code report}, prints {@code watchers
 * open=.. events=.. clean-closes=.. resets=.. reconnects=.. connect-failures=..}: streams open now,
 * event lines received, streams that ended with a clean end of stream, streams that broke (reset or
 * error), streams opened again after one ended, and attempts to open one that failed. A closed
 * watch is reopened at once, as client-go does. It stops when standard input closes or says {@code
 * stop}.
 *
 * <p>The connect timeout (default 1 s) decides what counts as a failure: with 1 s, a connection
 * whose SYN had to be sent again (the kernel's first retransmission is after 1 s) fails, which is
 * how the failure window of an unplanned failover is measured; a planned handoff may be measured
 * with a longer one, where a retransmitted SYN is a slow connection rather than a failed one.
 */
public final class Probe {

  /** Generous: a slow answer is not a failed connection; the lab may run on two busy cores. */
  private static final int READ_TIMEOUT_MILLIS = 10_000;

  /**
   * Attempts waiting for a SYN to be sent again pile up during a handoff: 50 a second for up to 3
   * s.
   */
  private static final int MAX_ATTEMPTS_IN_FLIGHT = 2000;

  private static final long WATCHER_STAGGER_MILLIS = 10;

  private final InetSocketAddress target;
  private final int connectTimeoutMillis;
  private final SSLContext tls;
  private final PrintStream out;
  private final Semaphore inFlight = new Semaphore(MAX_ATTEMPTS_IN_FLIGHT);
  private final ExecutorService workers = Executors.newCachedThreadPool(daemonThreads("probe"));
  private final AtomicInteger watchersOpen = new AtomicInteger();
  private final AtomicLong watchEvents = new AtomicLong();
  private final AtomicInteger watchCleanCloses = new AtomicInteger();
  private final AtomicInteger watchResets = new AtomicInteger();
  private final AtomicInteger watchConnectFailures = new AtomicInteger();
  private final AtomicInteger watchReconnects = new AtomicInteger();
  private volatile boolean running = true;

  Probe(InetSocketAddress target, int connectTimeoutMillis, SSLContext tls, PrintStream out) {
    this.target = target;
    this.connectTimeoutMillis = connectTimeoutMillis;
    this.tls = tls;
    this.out = out;
  }

  public static void main(String[] args) throws Exception {
    String target = null;
    String ca = null;
    long intervalMillis = 20;
    int watchers = 0;
    int connectTimeoutMillis = 1000;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--target" -> target = args[++i];
        case "--ca" -> ca = args[++i];
        case "--interval-ms" -> intervalMillis = Long.parseLong(args[++i]);
        case "--watchers" -> watchers = Integer.parseInt(args[++i]);
        case "--connect-timeout-ms" -> connectTimeoutMillis = Integer.parseInt(args[++i]);
        default -> {
          System.err.println(
              "usage: Probe --target HOST:PORT --ca CA.pem [--interval-ms 20] [--watchers N]"
                  + " [--connect-timeout-ms 1000]");
          System.exit(2);
        }
      }
    }
    if (target == null || ca == null) {
      System.err.println(
          "usage: Probe --target HOST:PORT --ca CA.pem [--interval-ms 20] [--watchers N]"
              + " [--connect-timeout-ms 1000]");
      System.exit(2);
    }
    int colon = target.lastIndexOf(':');
    String host = target.substring(0, colon).replace("[", "").replace("]", "");
    InetSocketAddress address =
        new InetSocketAddress(host, Integer.parseInt(target.substring(colon + 1)));
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    Probe probe = new Probe(address, connectTimeoutMillis, trusting(Path.of(ca)), out);
    probe.run(
        intervalMillis,
        watchers,
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
    System.exit(0);
  }

  void run(long intervalMillis, int watchers, BufferedReader commands)
      throws IOException, InterruptedException {
    for (int i = 0; i < watchers; i++) {
      // Staggered, as real watchers start: 200 TLS handshakes at one instant only measure the CPU.
      long delay = i * WATCHER_STAGGER_MILLIS;
      workers.execute(
          () -> {
            sleepQuietly(delay);
            watchForever();
          });
    }
    ScheduledExecutorService ticker =
        Executors.newSingleThreadScheduledExecutor(daemonThreads("probe-tick"));
    if (intervalMillis > 0) {
      ticker.scheduleAtFixedRate(this::launchAttempt, 0, intervalMillis, TimeUnit.MILLISECONDS);
    }
    out.println(
        "probe started target=" + target.getAddress().getHostAddress() + ":" + target.getPort());
    String line;
    while ((line = commands.readLine()) != null && !line.strip().equals("stop")) {
      if (line.strip().equals("report")) {
        out.println(watchReport());
      }
    }
    running = false;
    ticker.shutdownNow();
    workers.shutdownNow();
    workers.awaitTermination(5, TimeUnit.SECONDS);
    out.println(watchReport());
    out.println("probe stopped");
  }

  String watchReport() {
    return String.format(
        Locale.ROOT,
        "watchers open=%d events=%d clean-closes=%d resets=%d reconnects=%d connect-failures=%d",
        watchersOpen.get(),
        watchEvents.get(),
        watchCleanCloses.get(),
        watchResets.get(),
        watchReconnects.get(),
        watchConnectFailures.get());
  }

  private void launchAttempt() {
    if (!inFlight.tryAcquire()) {
      out.println("attempt " + System.currentTimeMillis() + " fail 0 too-many-attempts-in-flight");
      return;
    }
    long start = System.currentTimeMillis();
    workers.execute(
        () -> {
          try {
            String backend = request("/version");
            out.println(
                "attempt " + start + " ok " + (System.currentTimeMillis() - start) + " " + backend);
          } catch (IOException | RuntimeException e) {
            out.println(
                "attempt "
                    + start
                    + " fail "
                    + (System.currentTimeMillis() - start)
                    + " "
                    + reason(e));
          } finally {
            inFlight.release();
          }
        });
  }

  /** One request on a new connection; answers the backend that served it. */
  private String request(String path) throws IOException {
    try (SSLSocket socket = connect()) {
      OutputStream output = socket.getOutputStream();
      output.write(
          ("GET "
                  + path
                  + " HTTP/1.1\r\nHost: "
                  + target.getAddress().getHostAddress()
                  + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      output.flush();
      BufferedReader input =
          new BufferedReader(
              new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
      String status = input.readLine();
      if (status == null || !status.startsWith("HTTP/1.1 200")) {
        throw new IOException("status " + status);
      }
      String backend = "?";
      String header;
      while ((header = input.readLine()) != null && !header.isEmpty()) {
        if (header.toLowerCase(Locale.ROOT).startsWith("x-apivip-backend:")) {
          backend = header.substring(header.indexOf(':') + 1).strip();
        }
      }
      if (header == null) {
        throw new IOException("connection closed in the headers");
      }
      return backend;
    }
  }

  private SSLSocket connect() throws IOException {
    Socket plain = new Socket();
    try {
      plain.connect(target, connectTimeoutMillis);
      plain.setSoTimeout(READ_TIMEOUT_MILLIS);
      SSLSocket socket =
          (SSLSocket)
              tls.getSocketFactory()
                  .createSocket(
                      plain, target.getAddress().getHostAddress(), target.getPort(), true);
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      socket.setSSLParameters(parameters);
      socket.startHandshake();
      return socket;
    } catch (IOException | RuntimeException e) {
      plain.close();
      throw e;
    }
  }

  /**
   * Holds one watch stream open for as long as the probe runs; a stream that ends is reopened at
   * once. A stream that ends after its final chunk or with a TLS close is a clean close.
   */
  private void watchForever() {
    boolean first = true;
    while (running) {
      SSLSocket socket;
      try {
        socket = connect();
        socket.setSoTimeout(0);
        socket
            .getOutputStream()
            .write(
                ("GET /api/v1/pods?watch=true HTTP/1.1\r\nHost: "
                        + target.getAddress().getHostAddress()
                        + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
      } catch (IOException | RuntimeException e) {
        if (running) {
          watchConnectFailures.incrementAndGet();
          sleepQuietly(100);
        }
        continue;
      }
      if (!first) {
        watchReconnects.incrementAndGet();
      }
      first = false;
      watchersOpen.incrementAndGet();
      try (socket) {
        InputStream input = socket.getInputStream();
        byte[] buffer = new byte[4096];
        int read;
        while ((read = input.read(buffer)) >= 0) {
          for (int i = 0; i < read; i++) {
            if (buffer[i] == '\n') {
              watchEvents.incrementAndGet();
            }
          }
        }
        watchCleanCloses.incrementAndGet();
      } catch (IOException | RuntimeException e) {
        if (running) {
          watchResets.incrementAndGet();
        }
      } finally {
        watchersOpen.decrementAndGet();
      }
    }
  }

  private static String reason(Exception e) {
    String message = e.getMessage() == null ? "" : e.getMessage().replace(' ', '-');
    return e.getClass().getSimpleName() + (message.isEmpty() ? "" : ":" + message);
  }

  /** A TLS context that trusts the lab's CA, for the lab's other clients too. */
  public static SSLContext trusting(Path caFile) throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    List<Certificate> certificates = new ArrayList<>();
    try (InputStream in = Files.newInputStream(caFile)) {
      certificates.addAll(CertificateFactory.getInstance("X.509").generateCertificates(in));
    }
    for (int i = 0; i < certificates.size(); i++) {
      trust.setCertificateEntry("ca-" + i, certificates.get(i));
    }
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    return context;
  }

  private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
    AtomicInteger counter = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, name + "-" + counter.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
