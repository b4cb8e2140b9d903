"""The sandbox's moto server, with corrections where moto differs from AWS (S3 bucket policies, a bucket or a role
of another account: moto_accounts.py, a suspended Launch process, a prefix list's description on a security group
rule), and a count of writes.

moto 5.2 checks a bucket policy on object GET, PUT and DELETE (moto/s3/responses.py, _key_response) through
FakeBucket.get_permission, which asks moto's IAMPolicy whether the action is permitted: Principal and Condition
are ignored, so a Deny that names the application's roles (the escrow bucket's, terraform/app) denies every
caller, the operator included. AWS applies a statement only to the principals it names, under its conditions
(IAM User Guide, "Policy evaluation logic"; Amazon S3 User Guide, "Bucket policy examples"). Here the bucket
policy is evaluated by the sandbox's own model of S3 authorisation (s3_authorization.py, written from those
documents, never the suite's judge) for the caller moto answers for (sts:GetCallerIdentity in the default
account: user/moto), asking from loopback, not through a VPC endpoint.

It also counts the requests that may change moto's state (every request but GET/HEAD and the operations named
Describe*, List*, Get*, ...), served at /moto-api/envtest/writes: a sandbox reset asks it, in milliseconds,
whether anything wrote to AWS since the clean state, instead of dumping moto's whole state (about a second).

The instances' own S3 calls do not come here as themselves: they go through the sandbox's CLI stand-in
(instances_endpoint.InstanceS3), which evaluates the same policy for the instance's role and address.
"""

from __future__ import annotations

import io
import re
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from envtest_double import moto_accounts, paging, s3_authorization

DEFAULT_ACCOUNT = "123456789012"  # moto's default account
CALLER = f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/moto"  # moto's answer to sts:GetCallerIdentity there


def permission(policy_text: str | None, action: str, resource: str) -> str:
    """moto's PermissionResult name for the operator's request: PERMITTED, DENIED or NEUTRAL."""
    caller = s3_authorization.from_internet(CALLER, "127.0.0.1")
    try:
        said = s3_authorization.resource_policy_says(policy_text, caller, action, resource)
    except (s3_authorization.NotModelled, ValueError) as exc:
        print(f"envtest moto_server: bucket policy not modelled, {action} {resource} denied ({exc})", file=sys.stderr)
        return "DENIED"
    return {s3_authorization.DENY: "DENIED", s3_authorization.ALLOW: "PERMITTED"}.get(said, "NEUTRAL")


READS = re.compile(r"^(Describe|List|Get|Head|Simulate|Test|Lookup|Search|BatchGet|Query|Scan)")
# STS hands out temporary credentials and AWS keeps no resource for them (the suite assumes the GitLab account's
# role to read the config bucket there). moto does keep the session (an AssumedRole and an ASIA... access key in
# its state), which a reset need not put back: not a write.
SESSIONS = frozenset({"AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})
WRITES_PATH = "/moto-api/envtest/writes"


class WriteCounter:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def seen(self, environ: dict[str, Any]) -> None:
        if may_write(environ):
            with self.lock:
                self.count += 1


def may_write(environ: dict[str, Any]) -> bool:
    """Whether a request may change state: unknown means yes (a needless reseed is cheap, a missed one is not)."""
    if environ.get("REQUEST_METHOD", "GET") in {"GET", "HEAD", "OPTIONS"}:
        return False
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    operation = target.rsplit(".", 1)[-1] if target else ""
    if not operation and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        # The query protocol: the operation is the body's Action (the body is put back for moto to read).
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        operation = (parse_qs(body.decode("utf-8", "replace")).get("Action") or [""])[0]
    return not (operation and (READS.match(operation) or operation in SESSIONS))


def counting(app: Callable[..., Iterable[bytes]], counter: WriteCounter) -> Callable[..., Iterable[bytes]]:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == WRITES_PATH:
            body = str(counter.count).encode()
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        counter.seen(environ)
        return app(environ, start_response)

    return wrapped


RULES_PER_GROUP = 120  # the account's rules-per-group quota, as login.gov raised it


def install() -> None:
    # Two accounts, the env's and the GitLab deployment's: their buckets and roles apart, as AWS keeps them.
    moto_accounts.install()

    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        text = None if self.policy is None else self.policy.decode()
        return getattr(PermissionResult, permission(text, action, resource))

    FakeBucket.get_permission = get_permission

    from moto.autoscaling.models import FakeAutoScalingGroup

    launch = FakeAutoScalingGroup.replace_autoscaling_group_instances

    def launch_unless_suspended(self: Any, count_needed: int, propagated_tags: Any) -> Any:
        # AWS: while the Launch process is suspended the group launches nothing, whatever its desired capacity
        # (Amazon EC2 Auto Scaling User Guide, "Suspend and resume Amazon EC2 Auto Scaling processes"); moto 5.2
        # records the suspension and launches anyway. The cancel self-test holds a recycle mid-way with it.
        if "Launch" in getattr(self, "_suspended_processes", []):
            return None
        return launch(self, count_needed, propagated_tags)

    FakeAutoScalingGroup.replace_autoscaling_group_instances = launch_unless_suspended

    from moto.ec2.models.security_groups import SecurityGroup, SecurityGroupRule

    rule_init = SecurityGroupRule.__init__
    flattened = SecurityGroup._flattened_rules

    def rule_keeping_description(self: Any, *args: Any, **kwargs: Any) -> None:
        # AWS keeps a prefix-list entry's Description (EC2 API reference, PrefixListId: Description), as it keeps
        # an IP range's; moto 5.2 keeps only the id. terraform writes one on <env>-base's S3 rule.
        rule_init(self, *args, **kwargs)
        entry = kwargs.get("prefix_list_id") if "prefix_list_id" in kwargs else (args[7] if len(args) > 7 else None)
        self.envtest_prefix_list_description = (entry or {}).get("Description")

    def flattened_with_descriptions(self: Any, rules: list[Any]) -> Any:
        views = flattened(self, rules)
        said = {
            r.prefix_list_id: r.envtest_prefix_list_description
            for r in rules
            if r.prefix_list_id and getattr(r, "envtest_prefix_list_description", None)
        }
        for view in views:
            view.prefix_list_ids = [
                {**p, "Description": said[p["PrefixListId"]]} if p["PrefixListId"] in said else p
                for p in view.prefix_list_ids
            ]
        return views

    SecurityGroupRule.__init__ = rule_keeping_description
    SecurityGroup._flattened_rules = flattened_with_descriptions

    from moto.ec2.exceptions import RulesPerSecurityGroupLimitExceededError
    from moto.ec2.models.security_groups import SecurityGroupBackend

    def within_quota(self: Any, group: Any, current_rule_nb: int, ip_ranges: list[str], *rest: Any, **kw: Any) -> None:
        # "Inbound or outbound rules per security group" is an adjustable quota (Amazon VPC User Guide, "Amazon VPC
        # quotas": 60 by default); login.gov's accounts have it at 120 (gitlab_runner_pool/net.tf fills its argo
        # groups 120 rules each, security_group_max_rules). moto 5.2 holds every VPC group to the default 60.
        source_groups = rest[0] if rest else kw.get("source_groups")
        if current_rule_nb + len(ip_ranges or []) + len(source_groups or []) > RULES_PER_GROUP:
            raise RulesPerSecurityGroupLimitExceededError

    SecurityGroupBackend._verify_group_will_respect_rule_count_limit = within_quota


def main() -> None:
    install()
    from moto import server

    counter = WriteCounter()
    dispatcher = server.DomainDispatcherApplication

    paging.warm()

    class Counted(dispatcher):  # type: ignore[misc, valid-type]
        def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            # The suite's lists in small pages (paging.py), every request's possible write counted.
            return paging.paged(counting(super().__call__, counter))(environ, start_response)

    server.DomainDispatcherApplication = Counted
    server.main(sys.argv[1:])


if __name__ == "__main__":
    main()
