"""The sandbox's instances: moto's running instances, each a Linux network namespace that really runs commands.

moto records instances but runs nothing. Here every running moto instance of a
group the sandbox knows becomes:
- a network namespace holding the instance's own private address, joined to
  the others by a bridge in a "vpc" namespace (nothing is added to the
  machine's own network namespace);
- nftables rules compiled from its security groups as moto holds them right
  now (ingress and egress, stateful, default drop), so reachability meets a
  real refused or dropped connection; the VPC resolver is outside security
  groups, as in AWS;
- its role's files from `DIR/hosts/<role>/`, mounted at their real paths in a
  private mount namespace for each command (bind mounts over paths the machine
  has, read-only overlays where it lacks them).

Beside them: Redis (Debian's redis-server) in its own namespace, and a DNS
stand-in for the VPC's validating resolver (dns.py). Needs root.
"""
