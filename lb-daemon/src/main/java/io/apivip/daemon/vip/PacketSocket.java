package io.apivip.daemon.vip;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;

/**
 * A Linux packet socket (AF_PACKET, SOCK_RAW) bound to one interface, through JNA: the JDK has no
 * way to send or receive a whole Ethernet frame, and no Debian command sends an unsolicited
 * neighbour advertisement. {@link #open} makes one that only sends (protocol 0 receives nothing);
 * {@link #listen} one that also receives the frames of one EtherType that pass a BPF program. Needs
 * CAP_NET_RAW.
 */
final class PacketSocket implements AutoCloseable {

  private static final int AF_PACKET = 17;
  private static final int SOCK_RAW = 3;
  private static final int EPERM = 1;
  private static final int EACCES = 13;
  private static final int EINTR = 4;
  private static final int EAGAIN = 11;
  private static final int SOCKADDR_LL_LENGTH = 20;
  private static final int SOL_SOCKET = 1;
  private static final int SO_RCVTIMEO = 20;
  private static final int SO_ATTACH_FILTER = 26;
  private static final int SOCK_FILTER_LENGTH = 8;

  /**
   * The C library, loaded on first use so that a missing JNA native library is a KernelException,
   * not a crash.
   */
  private interface LibC extends Library {
    int socket(int domain, int type, int protocol);

    int bind(int socket, byte[] address, int addressLength);

    NativeLong sendto(
        int socket, byte[] buffer, NativeLong length, int flags, byte[] address, int addressLength);

    int setsockopt(int socket, int level, int name, Pointer value, int length);

    NativeLong recv(int socket, byte[] buffer, NativeLong length, int flags);

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
    PacketSocket socket = create(interfaceIndex);
    try {
      socket.bind(0);
    } catch (KernelException e) {
      socket.close();
      throw e;
    }
    return socket;
  }

  /**
   * Opens a packet socket on the interface with index {@code interfaceIndex} that receives the
   * frames of {@code etherType} which {@code filter} accepts, in the kernel, and sends too. A
   * {@link #receive} returns after {@code wait} at the latest, so that the thread reading can
   * notice it should stop. The filter is attached before the bind, so no frame it would refuse is
   * ever queued. Frames this host sends are not received: the kernel gives them only to sockets of
   * every protocol (ETH_P_ALL).
   */
  static PacketSocket listen(
      int interfaceIndex, int etherType, List<ClaimFilter.Instruction> filter, Duration wait)
      throws KernelException {
    PacketSocket socket = create(interfaceIndex);
    try {
      socket.attach(filter);
      socket.receiveTimeout(wait);
      socket.bind(etherType);
    } catch (KernelException e) {
      socket.close();
      throw e;
    }
    return socket;
  }

  private static PacketSocket create(int interfaceIndex) throws KernelException {
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
    return new PacketSocket(libc, fd, interfaceIndex);
  }

  private void bind(int etherType) throws KernelException {
    if (libc.bind(fd, linkAddress(etherType, new byte[0]), SOCKADDR_LL_LENGTH) < 0) {
      throw new KernelException(
          KernelException.Kind.FAILED,
          "bind(AF_PACKET) to interface index "
              + interfaceIndex
              + ": "
              + libc.strerror(Native.getLastError()));
    }
  }

  /**
   * SO_ATTACH_FILTER with struct sock_fprog { unsigned short len; struct sock_filter *filter; }.
   */
  private void attach(List<ClaimFilter.Instruction> filter) throws KernelException {
    Memory instructions = new Memory((long) filter.size() * SOCK_FILTER_LENGTH);
    for (int i = 0; i < filter.size(); i++) {
      ClaimFilter.Instruction instruction = filter.get(i);
      long at = (long) i * SOCK_FILTER_LENGTH;
      instructions.setShort(at, (short) instruction.code());
      instructions.setByte(at + 2, (byte) instruction.jumpIfTrue());
      instructions.setByte(at + 3, (byte) instruction.jumpIfFalse());
      instructions.setInt(at + 4, instruction.k());
    }
    Memory program = new Memory(2L * Native.POINTER_SIZE);
    program.clear();
    program.setShort(0, (short) filter.size());
    program.setPointer(Native.POINTER_SIZE, instructions);
    option(SO_ATTACH_FILTER, "SO_ATTACH_FILTER", program);
  }

  /** SO_RCVTIMEO with struct timeval { long tv_sec; long tv_usec; }. */
  private void receiveTimeout(Duration wait) throws KernelException {
    Memory timeval = new Memory(2L * NativeLong.SIZE);
    timeval.setNativeLong(0, new NativeLong(wait.toSeconds()));
    timeval.setNativeLong(NativeLong.SIZE, new NativeLong(wait.toMillisPart() * 1000L));
    option(SO_RCVTIMEO, "SO_RCVTIMEO", timeval);
  }

  private void option(int name, String what, Memory value) throws KernelException {
    if (libc.setsockopt(fd, SOL_SOCKET, name, value, (int) value.size()) < 0) {
      throw new KernelException(
          KernelException.Kind.FAILED,
          "setsockopt(AF_PACKET, " + what + "): " + libc.strerror(Native.getLastError()));
    }
  }

  /**
   * Waits for the next frame and copies it into {@code buffer}; returns its length (at most the
   * buffer's), or 0 when none came within the socket's wait.
   */
  int receive(byte[] buffer) throws KernelException {
    long received = libc.recv(fd, buffer, new NativeLong(buffer.length), 0).longValue();
    if (received >= 0) {
      return (int) received;
    }
    int errno = Native.getLastError();
    if (errno == EAGAIN || errno == EINTR) {
      return 0;
    }
    throw new KernelException(
        KernelException.Kind.FAILED, "recv(AF_PACKET): " + libc.strerror(errno));
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
