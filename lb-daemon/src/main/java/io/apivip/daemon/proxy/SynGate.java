package io.apivip.daemon.proxy;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.netty.channel.Channel;
import io.netty.channel.unix.UnixChannel;
import java.util.Optional;

/**
 * Closes a listening socket to new connections without refusing them: a one-instruction socket
 * filter ("drop everything") attached to the listener makes the kernel drop incoming SYNs silently,
 * so clients send them again a second later instead of seeing a reset. Connections already
 * accepted keep flowing. The daemon closes the VIP listener this way for a planned handoff: the
 * connections in flight finish here, and the clients' repeated SYNs reach the new holder.
 *
 * <p>Linux only, through JNA; needs no privilege (SO_ATTACH_FILTER on one's own socket).
 */
final class SynGate {

  private static final int SOL_SOCKET = 1;
  private static final int SO_ATTACH_FILTER = 26;
  private static final int SO_DETACH_FILTER = 27;
  private static final short BPF_RET_K = 0x06;
  /** struct sock_fprog on 64-bit Linux: unsigned short len, padding, struct sock_filter *filter. */
  private static final int FPROG_SIZE = 16;
  private static final int FILTER_POINTER_OFFSET = 8;

  private interface LibC extends Library {
    int setsockopt(int socket, int level, int option, Pointer value, int length);

    int setsockopt(int socket, int level, int option, int[] value, int length);

    String strerror(int errno);
  }

  private static final class Holder {
    static final LibC LIBC = Native.load("c", LibC.class);
  }

  private SynGate() {}

  /** Drops new connections to {@code listener}; answers why it could not, if it could not. */
  static Optional<String> close(Channel listener) {
    if (!(listener instanceof UnixChannel unix) || Native.POINTER_SIZE != 8) {
      return Optional.of("needs the epoll transport on a 64-bit Linux");
    }
    try {
      Memory instruction = new Memory(8);
      instruction.clear();
      instruction.setShort(0, BPF_RET_K); // return 0: keep no byte of the packet, i.e. drop it
      Memory program = new Memory(FPROG_SIZE);
      program.clear();
      program.setShort(0, (short) 1);
      program.setPointer(FILTER_POINTER_OFFSET, instruction);
      if (Holder.LIBC.setsockopt(unix.fd().intValue(), SOL_SOCKET, SO_ATTACH_FILTER, program, FPROG_SIZE) != 0) {
        return Optional.of("setsockopt(SO_ATTACH_FILTER): " + Holder.LIBC.strerror(Native.getLastError()));
      }
      return Optional.empty();
    } catch (LinkageError e) {
      return Optional.of("cannot load the C library through JNA: " + e);
    }
  }

  /** Accepts new connections again; harmless when no filter is attached. */
  static void open(Channel listener) {
    if (listener instanceof UnixChannel unix && listener.isOpen()) {
      try {
        Holder.LIBC.setsockopt(unix.fd().intValue(), SOL_SOCKET, SO_DETACH_FILTER, new int[] {0}, 4);
      } catch (LinkageError e) {
        // close() reported it already.
      }
    }
  }
}
