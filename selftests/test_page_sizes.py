"""The largest page the suite asks for (envtest/gather/services/base.py LARGEST_PAGE), held to AWS's API reference
as botocore's models carry it, and asked only where AWS takes it."""

from __future__ import annotations

import botocore.session
import pytest

from envtest.gather.services.base import LARGEST_PAGE, largest_pages

SESSION = botocore.session.get_session()


def _limit_member(service: str, operation: str) -> botocore.model.Shape:
    client = SESSION.create_client(service, region_name="us-west-2")
    name = client.meta.method_to_api_mapping[operation]
    limit_key = SESSION.get_paginator_model(service).get_paginator(name)["limit_key"]
    return SESSION.get_service_model(service).operation_model(name).input_shape.members[limit_key]


@pytest.mark.parametrize(("service", "operation"), sorted(LARGEST_PAGE))
def test_each_page_size_is_the_largest_the_api_reference_gives(service: str, operation: str) -> None:
    member = _limit_member(service, operation)
    size = LARGEST_PAGE[service, operation]
    if "max" in member.metadata:
        assert size == member.metadata["max"]
    else:  # the model gives no max: its documentation says it in words
        assert f"{size:,}" in member.documentation or f"{size}" in member.documentation, member.documentation


def test_a_list_asks_for_its_largest_page_and_a_lookup_by_id_asks_for_none() -> None:
    vpc = {"Filters": [{"Name": "vpc-id", "Values": ["vpc-1"]}]}
    assert largest_pages("ec2", "describe_security_groups", vpc) == {"PaginationConfig": {"PageSize": 1000}}
    assert largest_pages("ec2", "describe_instances", {"InstanceIds": ["i-1"]}) == {}
    assert largest_pages("autoscaling", "describe_auto_scaling_groups", {"AutoScalingGroupNames": ["g"]}) == {}
    assert largest_pages("ec2", "describe_prefix_lists", {}) == {}  # no documented largest page: AWS's default


def test_botocore_sends_the_page_size_as_the_operations_limit_key() -> None:
    """What PageSize becomes on the wire: the limit key (MaxResults), read with botocore's Stubber."""
    from botocore.stub import Stubber

    client = SESSION.create_client("ec2", region_name="us-west-2", aws_access_key_id="t", aws_secret_access_key="t")
    params = {"Filters": [{"Name": "vpc-id", "Values": ["vpc-1"]}]}
    with Stubber(client) as stub:
        stub.add_response("describe_security_groups", {"SecurityGroups": []}, {**params, "MaxResults": 1000})
        pages = client.get_paginator("describe_security_groups").paginate(
            **params, **largest_pages("ec2", "describe_security_groups", params)
        )
        assert [page["SecurityGroups"] for page in pages] == [[]]
        stub.assert_no_pending_responses()
