package io.apivip.daemon.node;

import io.apivip.daemon.cluster.ClusterService;
import io.apivip.daemon.cluster.ClusterStatus;
import io.apivip.daemon.proxy.TcpProxy;
import io.apivip.daemon.vip.VipManager;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * What the {@link NodeController} commands: the cluster, the VIP part and the proxy's VIP gate,
 * each behind a small interface so a test can stand in for it; {@code of} adapts the real part.
 * Every command returns at once (the parts hand the work to their own threads).
 */
public record Parts(Parts.Cluster cluster, Parts.Vip vip, Parts.Gate gate) {

  /** The cluster: what it is told of this node, and the one view the controller reads. */
  public interface Cluster {

    /** The cluster's latest snapshot: which other nodes could take the VIP. */
    ClusterStatus status();

    /** Whether this node may hold the VIP. */
    void setEligible(boolean eligible);

    /** This node enters (true) or leaves (false) maintenance. */
    void announceMaintenance(boolean on);

    /** The address is up for the hold decision with this id. */
    void addressUp(long decision);

    /** The address is off the interface after the release decision with this id. */
    void addressDown(long decision);

    static Cluster of(ClusterService cluster) {
      return new Cluster() {
        @Override
        public ClusterStatus status() {
          return cluster.status();
        }

        @Override
        public void setEligible(boolean eligible) {
          cluster.setEligible(eligible);
        }

        @Override
        public void announceMaintenance(boolean on) {
          if (on) {
            cluster.enterMaintenance();
          } else {
            cluster.leaveMaintenance();
          }
        }

        @Override
        public void addressUp(long decision) {
          cluster.addressUp(decision);
        }

        @Override
        public void addressDown(long decision) {
          cluster.addressDown(decision);
        }
      };
    }
  }

  /** The VIP part. */
  public interface Vip {

    /** Add and announce the address, for the hold decision with this id. */
    void hold(String reason, long decision);

    void release(String reason);

    void announceAgain(String reason);

    static Vip of(VipManager vip) {
      return new Vip() {
        @Override
        public void hold(String reason, long decision) {
          vip.hold(reason, decision);
        }

        @Override
        public void release(String reason) {
          vip.release(reason);
        }

        @Override
        public void announceAgain(String reason) {
          vip.announceAgain(reason);
        }
      };
    }
  }

  /** The proxy's VIP gate: new connections on the VIP, and the VIP connections open. */
  public interface Gate {

    /** Closes the gate for a planned handoff; completes when the VIP may move. */
    CompletableFuture<Void> quiesceVip(Duration wait);

    /** Opens the gate again. */
    void reopenVip();

    /** Resets the connections on the VIP, which left without a planned handoff. */
    void vipLost();

    static Gate of(TcpProxy proxy) {
      return new Gate() {
        @Override
        public CompletableFuture<Void> quiesceVip(Duration wait) {
          return proxy.quiesceVip(wait);
        }

        @Override
        public void reopenVip() {
          proxy.reopenVip();
        }

        @Override
        public void vipLost() {
          proxy.vipLost();
        }
      };
    }
  }
}
