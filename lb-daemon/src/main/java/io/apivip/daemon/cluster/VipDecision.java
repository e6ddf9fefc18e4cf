package io.apivip.daemon.cluster;

/**
 * Add the VIP ({@code hold}) or remove it, and why. {@code id} numbers this node's decisions in the
 * order it made them (1, 2, ...), so that a confirmation of the address ({@link
 * ClusterService#addressUp}) names the decision it answers and one that answers an older decision
 * is told apart.
 */
public record VipDecision(boolean hold, Election.Reason reason, long id) {}
