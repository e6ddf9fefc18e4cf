package io.apivip.daemon.vip;

import java.net.NetworkInterface;
import java.time.Duration;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches for claims on a packet socket of the VIP's EtherType (ARP, or IPv6) with {@link
 * ClaimFilter} in the kernel, read by a thread of its own ("apivip-vip-claims"): a blocking
 * receive, which on a quiet LAN costs nothing but one wake-up per {@link #WAIT}. Opened for each
 * hold, so an interface re-created in between (new index, new MAC) is picked up.
 */
final class RawClaimWatch implements ClaimWatch {

  private static final Logger log = LoggerFactory.getLogger(RawClaimWatch.class);

  /** How long a receive waits before the thread checks whether the watch was closed. */
  static final Duration WAIT = Duration.ofMillis(500);

  @Override
  public Watching watch(VipAddress vip, Consumer<Claims.Claim> claims) throws KernelException {
    NetworkInterface nic = RawAnnouncer.ethernetInterface(vip);
    byte[] mac = RawAnnouncer.hardwareAddress(nic);
    int etherType = vip.ipv6() ? Frames.ETHERTYPE_IPV6 : Frames.ETHERTYPE_ARP;
    PacketSocket socket =
        PacketSocket.listen(nic.getIndex(), etherType, ClaimFilter.program(vip.address()), WAIT);
    Receiver receiver = new Receiver(socket, vip, mac, claims);
    Thread thread = new Thread(receiver, "apivip-vip-claims");
    thread.setDaemon(true);
    thread.start();
    return receiver;
  }

  /**
   * The reading thread's loop. It closes the socket itself, so that no receive runs on a closed
   * one, and under the lock a probe takes, so that no probe does either.
   */
  private static final class Receiver implements Runnable, Watching {

    private final PacketSocket socket;
    private final VipAddress vip;
    private final byte[] mac;
    private final Consumer<Claims.Claim> claims;
    private volatile boolean closed;

    Receiver(PacketSocket socket, VipAddress vip, byte[] mac, Consumer<Claims.Claim> claims) {
      this.socket = socket;
      this.vip = vip;
      this.mac = mac;
      this.claims = claims;
    }

    @Override
    public void run() {
      byte[] buffer = new byte[ClaimFilter.CAPTURE_LENGTH];
      try {
        while (!closed) {
          int length = socket.receive(buffer);
          if (length > 0 && !closed) {
            Claims.read(buffer, length, vip.address(), mac).ifPresent(claims);
          }
        }
      } catch (KernelException e) {
        log.warn(
            "stopped watching {} for other hosts claiming VIP {}: {}",
            vip.interfaceName(),
            vip.literal(),
            e.getMessage());
      } catch (RuntimeException e) {
        log.error("the watch for other hosts claiming VIP {} failed", vip.literal(), e);
      } finally {
        synchronized (this) {
          closed = true;
          socket.close();
        }
      }
    }

    @Override
    public synchronized void probe() throws KernelException {
      if (!closed) {
        socket.send(Frames.probe(mac, vip.address()));
      }
    }

    @Override
    public void close() {
      closed = true;
    }
  }
}
