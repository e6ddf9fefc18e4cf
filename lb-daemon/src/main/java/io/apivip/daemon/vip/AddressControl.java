package io.apivip.daemon.vip;

/** Adds, removes and looks for the VIP on its interface: the kernel edge of address management. */
interface AddressControl {

  /** Whether an operation changed anything: both directions are idempotent. */
  enum Change {
    CHANGED,
    UNCHANGED
  }

  /**
   * Adds the VIP (IPv6 without duplicate address detection); UNCHANGED when it was there already.
   */
  Change add(VipAddress vip) throws KernelException;

  /** Removes the VIP; UNCHANGED when it was not there. */
  Change remove(VipAddress vip) throws KernelException;

  LinkState inspect(VipAddress vip) throws KernelException;
}
