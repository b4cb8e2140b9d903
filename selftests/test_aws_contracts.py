"""What moto does not model, pinned to AWS's documented answers with botocore's Stubber (a test double).

Each case feeds the gather layer a response shaped as the named API reference
documents it, and checks the suite reads it as AWS means it. moto answers
these differently or not at all (say so where it matters): the sandbox cannot
show these semantics, so they are held here.
"""

from __future__ import annotations

from envtest.gather.inventory import Inventory
from envtest.gather.services.iam import simulation_decisions
from selftests.conftest import stub

ROLE = "arn:aws:iam::123456789012:role/dev_idp_iam_role"
BUCKET, OBJECT = "arn:aws:s3:::b", "arn:aws:s3:::b/k"


def test_the_simulator_answers_one_result_per_action_with_each_resource_inside(inventory: Inventory) -> None:
    """IAM API reference, SimulatePrincipalPolicy / EvaluationResult: one result per action; EvalDecision is the most
    restrictive across the resources; each resource's own decision is in ResourceSpecificResults."""
    iam = stub(inventory, "iam")
    iam.add_response(
        "simulate_principal_policy",
        {
            "EvaluationResults": [
                {
                    "EvalActionName": "s3:GetObject",
                    "EvalResourceName": "*",
                    "EvalDecision": "implicitDeny",  # most restrictive: the bucket ARN is not allowed
                    "MissingContextValues": ["aws:SourceVpce"],
                    "ResourceSpecificResults": [
                        {"EvalResourceName": BUCKET, "EvalResourceDecision": "implicitDeny"},
                        {"EvalResourceName": OBJECT, "EvalResourceDecision": "allowed"},
                    ],
                }
            ],
            "IsTruncated": False,
        },
        # MaxItems: the largest page the API takes (envtest/gather/services/base.py LARGEST_PAGE).
        {"PolicySourceArn": ROLE, "ActionNames": ["s3:GetObject"], "ResourceArns": [BUCKET, OBJECT], "MaxItems": 1000},
    )
    decisions = inventory.simulate(ROLE, ["s3:GetObject"], [BUCKET, OBJECT])
    assert decisions[f"s3:GetObject {OBJECT}"] == {"decision": "allowed", "missing_context": ["aws:SourceVpce"]}
    assert decisions[f"s3:GetObject {BUCKET}"]["decision"] == "implicitDeny"
    iam.assert_no_pending_responses()


def test_a_result_without_per_resource_results_stands_for_its_resource() -> None:
    """The older shape (one resource per result): EvalResourceName and EvalDecision are the resource's own."""
    results = [{"EvalActionName": "s3:PutObject", "EvalResourceName": OBJECT, "EvalDecision": "explicitDeny"}]
    assert simulation_decisions(results) == {
        f"s3:PutObject {OBJECT}": {"decision": "explicitDeny", "missing_context": []}
    }


def test_another_accounts_registry_is_read_with_its_registry_id(inventory: Inventory) -> None:
    """ECR API reference, ListImages: registryId names the registry (another account's, with its repository policy);
    all pages; RepositoryNotFoundException is an absent repository. moto ignores a foreign registryId."""
    ecr = stub(inventory, "ecr")
    page = {"registryId": "217680906704", "repositoryName": "cd/env_test/blessed", "maxResults": 1000}
    ecr.add_response("list_images", {"imageIds": [{"imageDigest": "sha256:" + "a" * 64}], "nextToken": "t"}, page)
    ecr.add_response("list_images", {"imageIds": [{"imageDigest": "sha256:" + "b" * 64}]}, {**page, "nextToken": "t"})
    assert inventory.ecr_digests("217680906704", "cd/env_test/blessed") == ["sha256:" + "a" * 64, "sha256:" + "b" * 64]
    ecr.add_client_error("list_images", "RepositoryNotFoundException", "no such repository")
    assert inventory.ecr_digests("217680906704", "cd/gone") is None
    ecr.assert_no_pending_responses()


def test_metric_filters_and_their_test_are_read_as_cloudwatch_logs_answers(inventory: Inventory) -> None:
    """CloudWatch Logs API reference: DescribeMetricFilters (metricFilters, by prefix) and TestMetricFilter
    (matches: eventNumber from 1). moto has no TestMetricFilter."""
    logs = stub(inventory, "logs")
    logs.add_response(
        "describe_metric_filters",
        {"metricFilters": [{"filterName": "dev-idp-interesting-uris-success", "filterPattern": "{$.a = 1}"}]},
        {
            "logGroupName": "dev_/var/log/nginx/access.log",
            "filterNamePrefix": "dev-idp-interesting-uris-success",
            "limit": 50,
        },
    )
    filters = inventory.metric_filters("dev_/var/log/nginx/access.log", "dev-idp-interesting-uris-success")
    assert [(f.name, f.pattern) for f in filters] == [("dev-idp-interesting-uris-success", "{$.a = 1}")]
    logs.add_response(
        "test_metric_filter",
        {"matches": [{"eventNumber": 2, "eventMessage": '{"a": 1}', "extractedValues": {}}]},
        {"filterPattern": "{$.a = 1}", "logEventMessages": ['{"a": 2}', '{"a": 1}']},
    )
    assert inventory.metric_filter_matches("{$.a = 1}", ['{"a": 2}', '{"a": 1}']) == [2]
    logs.assert_no_pending_responses()


def test_an_nlbs_addresses_are_its_interfaces_described_after_it(inventory: Inventory) -> None:
    """ELBv2 API reference (DescribeTargetGroups: LoadBalancerArns) and EC2's description of an NLB's network
    interfaces, "ELB net/<name>/<id>": what terraform's proxy_lb_cidr_blocks reads. moto creates no ENI for an NLB."""
    lb = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/net/dev-ob1234/50dc6c495c0c9188"
    tg = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/dev-obproxy/73e2d6bc24d8a067"
    elbv2, ec2 = stub(inventory, "elbv2"), stub(inventory, "ec2")
    elbv2.add_response("describe_target_groups", {"TargetGroups": [{"TargetGroupArn": tg, "LoadBalancerArns": [lb]}]})
    ec2.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [{"PrivateIpAddress": "10.0.1.9"}, {"PrivateIpAddress": "10.0.2.9"}]},
        {"Filters": [{"Name": "description", "Values": ["ELB net/dev-ob1234/50dc6c495c0c9188"]}], "MaxResults": 1000},
    )
    assert inventory.load_balancer_addresses([tg]) == {"dev-ob1234": ["10.0.1.9", "10.0.2.9"]}
    elbv2.assert_no_pending_responses()
    ec2.assert_no_pending_responses()


def test_prefix_lists_are_known_by_name(inventory: Inventory) -> None:
    """EC2 API reference, DescribePrefixLists: the AWS-managed lists, com.amazonaws.<region>.s3 among them."""
    ec2 = stub(inventory, "ec2")
    ec2.add_response(
        "describe_prefix_lists",
        {"PrefixLists": [{"PrefixListId": "pl-68a54001", "PrefixListName": "com.amazonaws.us-west-2.s3", "Cidrs": []}]},
    )
    assert inventory.prefix_lists() == {"com.amazonaws.us-west-2.s3": "pl-68a54001"}
