package io.apivip.daemon.vip;

import java.util.function.Consumer;

/**
 * Watches the VIP's interface for frames in which another host claims the VIP: the kernel edge of
 * foreign claim detection. What a claim is, is {@link Claims}; whether it is foreign, {@link
 * ForeignClaims}.
 */
interface ClaimWatch {

  /** A watch under way. */
  interface Watching extends AutoCloseable {

    /**
     * Asks the LAN whether another host has the VIP (an ARP probe, or a duplicate address detection
     * solicitation): one that has it answers, and its answer is a claim like any other.
     */
    void probe() throws KernelException;

    /** Stops watching; claims may still arrive for a moment after, and must be ignored. */
    @Override
    void close();
  }

  /**
   * Starts watching the VIP's interface; every claim by a MAC other than this interface's is handed
   * to {@code claims} on a thread of the watch.
   */
  Watching watch(VipAddress vip, Consumer<Claims.Claim> claims) throws KernelException;
}
