package io.apivip.daemon.node;

import io.apivip.daemon.cluster.ClusterListener;
import io.apivip.daemon.cluster.VipDecision;
import io.apivip.daemon.vip.VipManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node controller as the daemon uses it: a {@link NodeController} running on its {@link Loop},
 * with every input posted to it from any thread and taken in the order posted.
 *
 * <p>Contract for the daemon: make the service first and hand its inputs to the parts as they start
 * ({@link #clusterListener()}, {@link #healthChanged}, {@link #vipChanged}); once every part runs,
 * {@link #start} the controller. Inputs that come before then wait for it, in order. {@link
 * #state()} is a snapshot safe to read from any thread.
 */
public final class NodeService {

  private static final Logger log = LoggerFactory.getLogger(NodeService.class);

  private final Loop loop;

  /** Events posted before the controller started; owned by the loop. */
  private final List<Consumer<NodeController>> early = new ArrayList<>();

  private volatile NodeController controller;

  public NodeService(Loop loop) {
    this.loop = loop;
  }

  /** The loop the controller must be made with. */
  public Loop loop() {
    return loop;
  }

  /**
   * Starts the controller, made with {@link #loop()}, from the VIP part's status as it is then, and
   * hands it the inputs that came before; returns once it has.
   */
  public void start(NodeController starting, Supplier<VipManager.Status> vipStatus)
      throws InterruptedException, ExecutionException {
    CompletableFuture<Void> started = new CompletableFuture<>();
    loop.execute(
        () -> {
          try {
            starting.start(vipStatus.get());
            controller = starting;
            early.forEach(event -> event.accept(starting));
            early.clear();
            started.complete(null);
          } catch (RuntimeException e) {
            started.completeExceptionally(e);
          }
        });
    started.get();
  }

  /** An apiserver went up or down. */
  public void healthChanged() {
    post(NodeController::healthChanged);
  }

  /** The VIP part's status changed; call it from the VIP part's listener. */
  public void vipChanged(VipManager.Status status) {
    post(controller -> controller.vipChanged(status));
  }

  /** What the cluster tells this node, posted to the controller. */
  public ClusterListener clusterListener() {
    return new ClusterListener() {
      @Override
      public void vipDecision(VipDecision decision) {
        post(controller -> controller.vipDecision(decision));
      }

      @Override
      public void announceAgain(String reason) {
        post(controller -> controller.announceAgain(reason));
      }

      @Override
      public void maintenanceChanged(Set<String> nodes) {
        post(controller -> controller.maintenanceChanged(nodes));
      }
    };
  }

  /**
   * A reload of the apiservers and of the health timing; completes once the controller has taken it
   * in (see {@link NodeController#reconfigure}).
   */
  public CompletableFuture<Void> reconfigure(
      List<io.apivip.daemon.config.Settings.Backend> backends, java.time.Duration settle) {
    return post(controller -> controller.reconfigure(backends, settle));
  }

  /** The operator's drain; completes once the controller has taken it in. */
  public CompletableFuture<Void> enterMaintenance() {
    return post(NodeController::enterMaintenance);
  }

  /**
   * The operator's drain, checked by {@link DrainGuard}: completes with the obstacles the
   * controller saw (refused if any and not forced).
   */
  public CompletableFuture<List<String>> drain(boolean force) {
    CompletableFuture<List<String>> answer = new CompletableFuture<>();
    post(controller -> answer.complete(controller.drain(force)))
        .whenComplete(
            (done, failure) -> {
              if (failure != null) {
                answer.completeExceptionally(failure);
              }
            });
    return answer;
  }

  /** The operator's resume; completes once the controller has taken it in. */
  public CompletableFuture<Void> leaveMaintenance() {
    return post(NodeController::leaveMaintenance);
  }

  /** The daemon stops; completes once the controller has taken it in. */
  public CompletableFuture<Void> stop() {
    return post(NodeController::stop);
  }

  /** The controller's latest decisions; before it starts, none. */
  public NodeController.State state() {
    NodeController started = controller;
    return started == null ? new NodeController.State(false, false, false, false) : started.state();
  }

  /**
   * Hands an event to the controller on its loop; completes once it has run (before the controller
   * starts, once it has run after the start; never, if the loop is shut down).
   */
  CompletableFuture<Void> post(Consumer<NodeController> event) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    Consumer<NodeController> run =
        started -> {
          try {
            event.accept(started);
            done.complete(null);
          } catch (RuntimeException e) {
            log.error("the node controller failed on an event", e);
            done.completeExceptionally(e);
          }
        };
    loop.execute(
        () -> {
          NodeController started = controller;
          if (started == null) {
            early.add(run);
          } else {
            run.accept(started);
          }
        });
    return done;
  }
}
