package io.apivip.daemon.systemd;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The notifier against a datagram socket bound here, as systemd binds its notification socket. */
class SystemdNotifierTest {

  private interface LibC extends Library {
    int socket(int domain, int type, int protocol);

    int bind(int fd, byte[] address, int addressLength);

    long recv(int fd, byte[] buffer, long length, int flags);

    int close(int fd);
  }

  private static final LibC LIBC = Native.load("c", LibC.class);
  private static final int MSG_DONTWAIT = 0x40;

  @TempDir Path dir;
  private int fd = -1;

  @BeforeEach
  void open() {
    fd = LIBC.socket(1, 2, 0);
    assertThat(fd).isNotNegative();
  }

  @AfterEach
  void close() {
    LIBC.close(fd);
  }

  void bind(byte[] name, boolean abstractName) {
    ByteBuffer address = ByteBuffer.allocate(2 + name.length + 1).order(ByteOrder.nativeOrder());
    address.putShort((short) 1).put(name);
    if (abstractName) {
      address.put(2, (byte) 0);
    }
    assertThat(LIBC.bind(fd, address.array(), abstractName ? 2 + name.length : 3 + name.length))
        .isZero();
  }

  String received() {
    byte[] buffer = new byte[4096];
    long length = LIBC.recv(fd, buffer, buffer.length, MSG_DONTWAIT);
    return length < 0 ? "(nothing)" : new String(buffer, 0, (int) length, StandardCharsets.UTF_8);
  }

  @Test
  void readyStatusAndStoppingReachASocketPath() {
    String path = dir.resolve("notify").toString();
    bind(path.getBytes(StandardCharsets.UTF_8), false);
    SystemdNotifier notifier = SystemdNotifier.forSocket(path);
    assertThat(notifier.listening()).isTrue();

    notifier.ready("node n1 serves");
    assertThat(received()).isEqualTo("READY=1\nSTATUS=node n1 serves");
    notifier.status("this node holds the VIP");
    assertThat(received()).isEqualTo("STATUS=this node holds the VIP");
    notifier.stopping("handing the VIP over");
    assertThat(received()).isEqualTo("STOPPING=1\nSTATUS=handing the VIP over");
  }

  @Test
  void anAbstractSocketNameWorksAsSystemdGivesIt() {
    String name = "@apivip-test-" + ProcessHandle.current().pid();
    bind(name.getBytes(StandardCharsets.UTF_8), true);

    SystemdNotifier.forSocket(name).ready("up");

    assertThat(received()).isEqualTo("READY=1\nSTATUS=up");
  }

  @Test
  void aMissingSocketIsNoErrorForTheDaemon() {
    SystemdNotifier notifier = SystemdNotifier.forSocket(dir.resolve("absent").toString());
    notifier.ready("up");
    notifier.status("still up");
    assertThat(received()).isEqualTo("(nothing)");
  }
}
