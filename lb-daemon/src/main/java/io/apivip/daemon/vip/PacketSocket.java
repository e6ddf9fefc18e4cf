package io.apivip.daemon.vip;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A Linux packet socket (AF_PACKET, SOCK_RAW) bound to one interface, through JNA: the JDK has no
 * way to send a whole Ethernet frame, and no Debian command sends an unsolicited neighbour
 * advertisement. It is opened with protocol 0, so it never receives anything, only sends. Needs
 * CAP_NET_RAW.
 */
final class PacketSocket implements AutoCloseable {

  private static final int AF_PACKET = 17;
  private static final int SOCK_RAW = 3;
  private static final int EPERM = 1;
  private static final int EACCES = 13;
  private static final int SOCKADDR_LL_LENGTH = 20;

  /**
   * The C library, loaded on first use so that a missing JNA native library is a KernelException,
   * not a crash.
   */
  private interface LibC extends Library {
    int socket(int domain, int type, int protocol);

    int bind(int socket, byte[] address, int addressLength);

    NativeLong sendto(
        int socket, byte[] buffer, NativeLong length, int flags, byte[] address, int addressLength);

    int close(int socket);

    String strerror(int errno);
  }

  private static final class Holder {
    static final LibC LIBC = Native.load("c", LibC.class);
  }

  private final LibC libc;
  private final int fd;
  private final int interfaceIndex;

  private PacketSocket(LibC libc, int fd, int interfaceIndex) {
    this.libc = libc;
    this.fd = fd;
    this.interfaceIndex = interfaceIndex;
  }

  /** Opens a send-only packet socket on the interface with index {@code interfaceIndex}. */
  static PacketSocket open(int interfaceIndex) throws KernelException {
    LibC libc;
    try {
      libc = Holder.LIBC;
    } catch (LinkageError e) {
      throw new KernelException(
          KernelException.Kind.FAILED, "cannot load the C library through JNA: " + e);
    }
    int fd = libc.socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) {
      int errno = Native.getLastError();
      if (errno == EPERM || errno == EACCES) {
        throw new KernelException(
            KernelException.Kind.NO_PERMISSION,
            "socket(AF_PACKET, SOCK_RAW): "
                + libc.strerror(errno)
                + " (EPERM): apivip needs CAP_NET_RAW");
      }
      throw new KernelException(
          KernelException.Kind.FAILED, "socket(AF_PACKET, SOCK_RAW): " + libc.strerror(errno));
    }
    PacketSocket socket = new PacketSocket(libc, fd, interfaceIndex);
    if (libc.bind(fd, socket.linkAddress(0, new byte[0]), SOCKADDR_LL_LENGTH) < 0) {
      int errno = Native.getLastError();
      socket.close();
      throw new KernelException(
          KernelException.Kind.FAILED,
          "bind(AF_PACKET) to interface index " + interfaceIndex + ": " + libc.strerror(errno));
    }
    return socket;
  }

  /** Sends one complete Ethernet frame (without FCS) out of the bound interface. */
  void send(Frames.Frame frame) throws KernelException {
    byte[] bytes = frame.bytes();
    byte[] address = linkAddress(frame.etherType(), frame.destinationMac());
    long sent =
        libc.sendto(fd, bytes, new NativeLong(bytes.length), 0, address, SOCKADDR_LL_LENGTH)
            .longValue();
    if (sent != bytes.length) {
      String why =
          sent < 0
              ? libc.strerror(Native.getLastError())
              : "sent " + sent + " of " + bytes.length + " bytes";
      throw new KernelException(
          KernelException.Kind.FAILED, "sendto(AF_PACKET) " + frame.kind().tag() + ": " + why);
    }
  }

  @Override
  public void close() {
    libc.close(fd);
  }

  /**
   * struct sockaddr_ll: family (host order), protocol (network order), ifindex (host order),
   * hatype, pkttype, halen, addr[8].
   */
  private byte[] linkAddress(int etherType, byte[] destination) {
    ByteBuffer address = ByteBuffer.allocate(SOCKADDR_LL_LENGTH).order(ByteOrder.nativeOrder());
    address.putShort((short) AF_PACKET);
    address.order(ByteOrder.BIG_ENDIAN).putShort((short) etherType).order(ByteOrder.nativeOrder());
    address.putInt(interfaceIndex);
    address.putShort((short) 0).put((byte) 0).put((byte) destination.length).put(destination);
    return address.array();
  }
}
