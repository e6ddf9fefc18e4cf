package io.apivip.daemon.vip;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * An interface in memory: the address, the link state, failures to inject, and a journal of calls
 * with their virtual times.
 */
final class FakeKernel implements AddressControl, Announcer {

  private final FakeScheduler clock;
  boolean present;
  boolean exists = true;
  boolean up = true;
  boolean carrier = true;

  /** Failures the next operations of each kind throw, in order. */
  final Deque<KernelException> addFailures = new ArrayDeque<>();

  final Deque<KernelException> removeFailures = new ArrayDeque<>();
  final Deque<KernelException> announceFailures = new ArrayDeque<>();

  /** When set, every announcement and probe fails with it. */
  KernelException announcerBroken;

  /** Runs inside the next add, as a caller thread would while the VIP thread is in the kernel. */
  Runnable duringNextAdd;

  /** "add@0", "announce@300", ...: what was done and when, in virtual milliseconds. */
  final List<String> journal = new ArrayList<>();

  FakeKernel(FakeScheduler clock) {
    this.clock = clock;
  }

  static KernelException failure(KernelException.Kind kind, String message) {
    return new KernelException(kind, message);
  }

  @Override
  public Change add(VipAddress vip) throws KernelException {
    journal.add("add@" + clock.millis());
    if (duringNextAdd != null) {
      Runnable during = duringNextAdd;
      duringNextAdd = null;
      during.run();
    }
    throwNext(addFailures);
    Change change = present ? Change.UNCHANGED : Change.CHANGED;
    present = true;
    return change;
  }

  @Override
  public Change remove(VipAddress vip) throws KernelException {
    journal.add("remove@" + clock.millis());
    throwNext(removeFailures);
    Change change = present ? Change.CHANGED : Change.UNCHANGED;
    present = false;
    return change;
  }

  @Override
  public LinkState inspect(VipAddress vip) {
    return exists ? new LinkState(true, up, carrier, present) : LinkState.MISSING;
  }

  @Override
  public Announcement announce(VipAddress vip) throws KernelException {
    journal.add("announce@" + clock.millis());
    if (announcerBroken != null) {
      throw announcerBroken;
    }
    throwNext(announceFailures);
    return new Announcement(
        "02:00:00:00:00:0b", List.of(Frames.Kind.GARP_REQUEST, Frames.Kind.GARP_REPLY));
  }

  @Override
  public void probe(VipAddress vip) throws KernelException {
    if (announcerBroken != null) {
      throw announcerBroken;
    }
  }

  /** The journal entries of one kind of operation, e.g. "announce". */
  List<String> calls(String operation) {
    return journal.stream().filter(entry -> entry.startsWith(operation + "@")).toList();
  }

  private static void throwNext(Deque<KernelException> failures) throws KernelException {
    KernelException next = failures.poll();
    if (next != null) {
      throw next;
    }
  }
}
