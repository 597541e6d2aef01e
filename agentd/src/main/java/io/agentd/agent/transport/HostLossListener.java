package io.agentd.agent.transport;

/** Told when the host of a transport went away, with the policy that transport was configured with. */
@FunctionalInterface
public interface HostLossListener {
    void onHostLost(HostLossPolicy policy);
}
