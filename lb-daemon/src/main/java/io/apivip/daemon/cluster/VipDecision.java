package io.apivip.daemon.cluster;

/** Add the VIP ({@code hold}) or remove it, and why. */
public record VipDecision(boolean hold, Election.Reason reason) {}
