"""AWS state, read once per run and shared (see cache.py), typed per service (see services/).

Each method answers one question a check asks, in the terms of the check
("the env-runner group", "facts about the token object"), and turns AWS
failures into CouldNotEvaluate with a cause. Checks never call boto3, and
neither checks nor fixtures see AWS's answer dicts: each service's reader
returns that service's models.
"""

from __future__ import annotations

from envtest.gather.services.autoscaling import AutoScalingReads
from envtest.gather.services.ec2 import Ec2Reads
from envtest.gather.services.ecr import EcrReads
from envtest.gather.services.elasticache import ElastiCacheReads
from envtest.gather.services.elbv2 import ElbReads
from envtest.gather.services.iam import IamReads
from envtest.gather.services.logs import LogsReads
from envtest.gather.services.s3 import S3Reads
from envtest.gather.services.sts import StsReads


class Inventory(
    StsReads, AutoScalingReads, Ec2Reads, ElbReads, S3Reads, EcrReads, ElastiCacheReads, LogsReads, IamReads
):
    """Every service's reads over one AWS session and the run's cache."""
