"""IAM's SimulatePrincipalPolicy, as a test double: the role's policies as moto holds them, plus the resource
policy given, evaluated with moto's statement matcher, answered in IAM's current shape (ResourceSpecificResults)."""

from __future__ import annotations

import json
import uuid
from typing import Any
from xml.sax.saxutils import escape

from envtest_double.instances_endpoint.wire import ServiceError, member_index


class SimulatorInputError(ServiceError):
    """A request IAM's simulator refuses as InvalidInput."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidInput", message)


class Simulator:
    """iam:SimulatePrincipalPolicy over moto's IAM state (a test double for IAM's simulator)."""

    def __init__(self, iam: Any) -> None:
        self.iam = iam

    def identity_policies(self, role_name: str) -> list[str]:
        documents = []
        for name in self.iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            document = self.iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            documents.append(document if isinstance(document, str) else json.dumps(document))
        for attached in self.iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
            policy = self.iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
            version = self.iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
            document = version["PolicyVersion"]["Document"]
            documents.append(document if isinstance(document, str) else json.dumps(document))
        return documents

    @staticmethod
    def _principal_matches(statement: dict[str, Any], principal_arn: str) -> bool:
        principal = statement.get("Principal")
        if principal == "*":
            return True
        if not isinstance(principal, dict):
            return False
        aws = principal.get("AWS", [])
        aws = [aws] if isinstance(aws, str) else aws
        account = principal_arn.split(":")[4]
        return any(p in {"*", principal_arn, account, f"arn:aws:iam::{account}:root"} for p in aws)

    def decide(
        self, identity: list[str], resource_policy: str | None, principal: str, action: str, resource: str
    ) -> str:
        from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult

        allowed = False
        for document in identity:
            result = IAMPolicy(document).is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                return "explicitDeny"
            allowed = allowed or result == PermissionResult.PERMITTED
        if resource_policy:
            statements = json.loads(resource_policy).get("Statement", [])
            for statement in statements if isinstance(statements, list) else [statements]:
                if not self._principal_matches(statement, principal):
                    continue
                bare = {k: v for k, v in statement.items() if k != "Principal"}
                result = IAMPolicyStatement(bare).is_action_permitted(action, resource)
                if result == PermissionResult.DENIED:
                    return "explicitDeny"
                allowed = allowed or result == PermissionResult.PERMITTED
        return "allowed" if allowed else "implicitDeny"

    def simulate(self, form: dict[str, list[str]]) -> str:
        """SimulatePrincipalPolicy's answer as IAM now gives it: one EvaluationResult per action, its EvalDecision
        the most restrictive over the resources, each resource's own decision in ResourceSpecificResults (IAM API
        reference: EvaluationResult, ResourceSpecificResult)."""
        source = form["PolicySourceArn"][0]
        role_name = source.rsplit("/", 1)[-1]
        actions = [form[k][0] for k in sorted(form, key=member_index) if k.startswith("ActionNames.member.")]
        resources = [form[k][0] for k in sorted(form, key=member_index) if k.startswith("ResourceArns.member.")] or [
            "*"
        ]
        resource_policy = form.get("ResourcePolicy", [None])[0]
        if resource_policy and ":user/" not in source and not form.get("CallerArn"):
            # As IAM answers: a resource policy needs a caller, and only an IAM user can be one.
            raise SimulatorInputError(
                "CallerArn is required if you include a ResourcePolicy and PolicySourceArn is not a user"
            )
        identity = self.identity_policies(role_name)
        members = []
        for action in actions:
            decisions = {r: self.decide(identity, resource_policy, source, action, r) for r in resources}
            overall = next((d for d in ("explicitDeny", "implicitDeny") if d in decisions.values()), "allowed")
            per_resource = "".join(
                f"<member><EvalResourceName>{escape(r)}</EvalResourceName>"
                f"<EvalResourceDecision>{d}</EvalResourceDecision><MatchedStatements/><MissingContextValues/></member>"
                for r, d in decisions.items()
            )
            members.append(
                f"<member><EvalActionName>{escape(action)}</EvalActionName>"
                f"<EvalResourceName>*</EvalResourceName><EvalDecision>{overall}</EvalDecision>"
                f"<MatchedStatements/><MissingContextValues/>"
                f"<ResourceSpecificResults>{per_resource}</ResourceSpecificResults></member>"
            )
        return (
            '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
            f"<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>{''.join(members)}"
            "</EvaluationResults></SimulatePrincipalPolicyResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</SimulatePrincipalPolicyResponse>"
        )
