"""AWS state per service, typed: what the checks and fixtures see instead of AWS's answer dicts.

One module per service (autoscaling, ec2, elbv2, elasticache, logs, s3, ecr,
iam, sts). Each holds the frozen dataclasses of that service's resources, built
from AWS's documented answer shapes by `from_api`, the predicates several checks
share (they live with the model, as prowler keeps its security-group helpers
beside its EC2 models), and a reader mixin: the paginated, cached reads that
return those models. `envtest.gather.inventory.Inventory` is the sum of the
readers.

The run's cache (cache.py) stores AWS's JSON answers, shared between processes;
the models are built from them on the way out, so a model never crosses a
process boundary and the cache format stays AWS's own.
"""
