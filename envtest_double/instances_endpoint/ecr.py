"""ECR reads with another account's registryId: the repository policy checked, then moto asked as that account."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import ClassVar

from envtest_double.instances_endpoint.wire import as_list


class CrossAccountEcr:
    """ECR read with another account's registryId (a test double for ECR's cross-account path).

    moto keeps one ECR per account and ignores a foreign registryId; ECR answers a caller from another account
    when the repository's policy allows that account the action. This checks the policy as ECR would (an Allow
    naming the caller's account root, or "*"; an explicit Deny wins) and then asks moto as the registry's account.
    """

    ACTIONS: ClassVar[dict[str, str]] = {"ListImages": "ecr:ListImages", "DescribeImages": "ecr:DescribeImages"}

    def __init__(self, moto: str, caller_account: str) -> None:
        self.moto, self.caller_account = moto, caller_account

    def applies(self, target: str, body: bytes) -> bool:
        operation = target.rsplit(".", 1)[-1]
        if not target.startswith("AmazonEC2ContainerRegistry") or operation not in self.ACTIONS:
            return False
        registry = str(json.loads(body or b"{}").get("registryId") or self.caller_account)
        return registry != self.caller_account

    def allowed(self, registry: str, repository: str, operation: str, headers: dict[str, str]) -> bool:
        body = json.dumps({"registryId": registry, "repositoryName": repository}).encode()
        request = urllib.request.Request(
            self.moto + "/",
            data=body,
            method="POST",
            headers={
                **headers,
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.GetRepositoryPolicy",
                "x-moto-account-id": registry,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                policy = json.loads(json.loads(answer.read())["policyText"])
        except (urllib.error.HTTPError, KeyError, ValueError):
            return False
        action, caller = self.ACTIONS[operation], {self.caller_account, f"arn:aws:iam::{self.caller_account}:root"}
        verdict = False
        for statement in policy.get("Statement", []):
            principal = statement.get("Principal")
            names = {"*"} if principal == "*" else set(as_list((principal or {}).get("AWS", [])))
            actions = {a.lower() for a in as_list(statement.get("Action", []))}
            if not (names & (caller | {"*"})) or not (action.lower() in actions or "ecr:*" in actions):
                continue
            if statement.get("Effect") == "Deny":
                return False
            verdict = verdict or statement.get("Effect") == "Allow"
        return verdict
