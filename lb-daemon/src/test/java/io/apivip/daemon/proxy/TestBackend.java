package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings.Backend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in apiserver on 127.0.0.1 with blocking sockets, independent of the code under test: each
 * accepted connection runs a {@link Session} on a thread of its own.
 */
final class TestBackend implements AutoCloseable {

  interface Session {
    void run(Socket socket) throws IOException;
  }

  /** Echoes every byte; at the client's end of stream it ends its own side too. */
  static final Session ECHO =
      socket -> {
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        byte[] buffer = new byte[64 * 1024];
        for (int n; (n = in.read(buffer)) >= 0; ) {
          out.write(buffer, 0, n);
        }
        socket.shutdownOutput();
      };

  private final String nodeId;
  private final ServerSocket server;
  private final Session session;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final AtomicInteger accepted = new AtomicInteger();

  private TestBackend(String nodeId, Session session) throws IOException {
    this.nodeId = nodeId;
    this.session = session;
    this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    threads.execute(this::acceptLoop);
  }

  static TestBackend start(String nodeId, Session session) throws IOException {
    return new TestBackend(nodeId, session);
  }

  /** An apiserver on 127.0.0.1 that refuses every connection: a port that was free a moment ago. */
  static Backend refusing(String nodeId) throws IOException {
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return new Backend(
          nodeId, new InetSocketAddress(InetAddress.getLoopbackAddress(), probe.getLocalPort()));
    }
  }

  Backend backend() {
    return new Backend(
        nodeId, new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()));
  }

  /** Connections accepted so far. */
  int accepted() {
    return accepted.get();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      Socket socket;
      try {
        socket = server.accept();
      } catch (IOException closed) {
        return;
      }
      accepted.incrementAndGet();
      sockets.add(socket);
      threads.execute(
          () -> {
            try (socket) {
              session.run(socket);
            } catch (IOException ended) {
              // the proxy reset or closed the connection: the session is over
            }
          });
    }
  }

  @Override
  public void close() throws IOException, InterruptedException {
    server.close();
    for (Socket socket : sockets) {
      socket.close();
    }
    threads.shutdownNow();
    threads.awaitTermination(5, TimeUnit.SECONDS);
  }
}
