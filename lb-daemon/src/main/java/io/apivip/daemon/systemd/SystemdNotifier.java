package io.apivip.daemon.systemd;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells systemd how the service is doing (sd_notify(3)): READY=1 once the daemon serves, so that
 * {@code systemctl start apivip} returns only then (Type=notify), STATUS= for {@code systemctl
 * status}, RELOADING=1 while a reload is applied (READY=1 again after it), STOPPING=1 when a
 * planned stop begins. Does nothing when systemd did not ask ($NOTIFY_SOCKET unset), as when run by
 * hand or by tests.
 *
 * <p>The JDK's Unix domain sockets are stream sockets only, and systemd's notification socket is a
 * datagram socket, so this sends with libc through JNA, as the proxy's SYN filter does.
 */
public final class SystemdNotifier {

  private static final Logger log = LoggerFactory.getLogger(SystemdNotifier.class);
  private static final int AF_UNIX = 1;
  private static final int SOCK_DGRAM = 2;
  private static final int SOCK_CLOEXEC = 0x80000;

  /** sizeof(struct sockaddr_un): a 2-byte family and a 108-byte path. */
  private static final int SUN_PATH_MAX = 108;

  private interface LibC extends Library {
    int socket(int domain, int type, int protocol);

    long sendto(int fd, byte[] buffer, long length, int flags, byte[] address, int addressLength);

    int close(int fd);

    String strerror(int errno);
  }

  private static final class Holder {
    static final LibC LIBC = Native.load("c", LibC.class);
  }

  private final Optional<String> socket;
  private boolean failedOnce;

  private SystemdNotifier(Optional<String> socket) {
    this.socket = socket;
  }

  /** The notifier for this process: systemd's socket from $NOTIFY_SOCKET, if any. */
  public static SystemdNotifier fromEnvironment() {
    return new SystemdNotifier(
        Optional.ofNullable(System.getenv("NOTIFY_SOCKET")).filter(path -> !path.isEmpty()));
  }

  /** A notifier that sends to the given socket path ("@name" for the abstract namespace). */
  public static SystemdNotifier forSocket(String path) {
    return new SystemdNotifier(Optional.of(path));
  }

  /** Whether systemd asked for notifications: without it every notification is dropped. */
  public boolean listening() {
    return socket.isPresent();
  }

  public void ready(String status) {
    send("READY=1\nSTATUS=" + status);
  }

  public void status(String status) {
    send("STATUS=" + status);
  }

  /**
   * A reload begins; {@link #ready} says it is over. MONOTONIC_USEC (CLOCK_MONOTONIC, which
   * System.nanoTime reads on Linux) is what systemd 253 and later want with it.
   */
  public void reloading(String status) {
    send("RELOADING=1\nMONOTONIC_USEC=" + System.nanoTime() / 1000 + "\nSTATUS=" + status);
  }

  public void stopping(String status) {
    send("STOPPING=1\nSTATUS=" + status);
  }

  /**
   * Sends one notification; a failure is logged once and otherwise ignored (systemd may be gone).
   */
  public synchronized void send(String message) {
    if (socket.isEmpty()) {
      return;
    }
    Optional<String> error = sendTo(socket.get(), message.getBytes(StandardCharsets.UTF_8));
    if (error.isPresent() && !failedOnce) {
      failedOnce = true;
      log.warn("cannot notify systemd at {}: {}", socket.get(), error.get());
    }
  }

  private static Optional<String> sendTo(String path, byte[] message) {
    byte[] name = path.getBytes(StandardCharsets.UTF_8);
    if (name.length == 0 || name.length >= SUN_PATH_MAX) {
      return Optional.of("not a socket path: " + path);
    }
    boolean abstractName = name[0] == '@';
    // sockaddr_un: the family in native byte order, then the path; an abstract name starts with NUL
    // and is as long as it is, a path ends with NUL.
    ByteBuffer address = ByteBuffer.allocate(2 + name.length + 1).order(ByteOrder.nativeOrder());
    address.putShort((short) AF_UNIX);
    address.put(name);
    if (abstractName) {
      address.put(2, (byte) 0);
    }
    int addressLength = abstractName ? 2 + name.length : 2 + name.length + 1;
    LibC libc = Holder.LIBC;
    int fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return Optional.of("socket: " + libc.strerror(Native.getLastError()));
    }
    try {
      long sent = libc.sendto(fd, message, message.length, 0, address.array(), addressLength);
      return sent == message.length
          ? Optional.empty()
          : Optional.of("sendto: " + libc.strerror(Native.getLastError()));
    } finally {
      libc.close(fd);
    }
  }
}
