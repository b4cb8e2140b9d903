"""IAM: the policy simulator's decisions for a role (SimulatePrincipalPolicy)."""

from __future__ import annotations

from typing import Any

from envtest.gather.services.base import Reader, call, largest_pages


class IamReads(Reader):
    def simulate(self, principal_arn: str, actions: list[str], resources: list[str]) -> dict[str, dict[str, Any]]:
        """IAM's policy simulator on the principal's own policies, one decision per action and resource.

        {"<action> <resource>": {"decision": "allowed" | "explicitDeny" | "implicitDeny",
        "missing_context": [context keys the decision depends on but the simulator did not have]}}.
        """

        def fetch() -> dict[str, dict[str, Any]]:
            iam = self.aws.client("iam")
            params: dict[str, Any] = {
                "PolicySourceArn": principal_arn,
                "ActionNames": actions,
                "ResourceArns": resources,
            }

            def pages() -> list[dict[str, Any]]:
                paginator = iam.get_paginator("simulate_principal_policy")
                # Its ARNs and names are the question asked, not a lookup by name: the page size applies.
                sized = largest_pages("iam", "simulate_principal_policy", {})
                return [r for page in paginator.paginate(**params, **sized) for r in page["EvaluationResults"]]

            return simulation_decisions(call(f"iam:SimulatePrincipalPolicy {principal_arn}", pages))

        return self._cached(f"iam.simulate:{principal_arn}:{sorted(actions)}:{sorted(resources)}", fetch)


def simulation_decisions(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """ "<action> <resource>" -> decision, from SimulatePrincipalPolicy's EvaluationResults.

    IAM answers one EvaluationResult per action whatever the number of resources; its EvalDecision is
    the most restrictive across them, and each resource's own decision is in ResourceSpecificResults
    (IAM API reference: EvaluationResult, ResourceSpecificResult). A result without per-resource
    results (one resource, or the older shape) stands for the resource it names.
    """
    out = {}
    for result in results:
        action = result["EvalActionName"]
        shared = list(result.get("MissingContextValues", []))
        per_resource = result.get("ResourceSpecificResults") or [
            {
                "EvalResourceName": result.get("EvalResourceName", "*"),
                "EvalResourceDecision": result["EvalDecision"],
                "MissingContextValues": [],
            }
        ]
        for item in per_resource:
            out[f"{action} {item['EvalResourceName']}"] = {
                "decision": item["EvalResourceDecision"],
                "missing_context": sorted({*shared, *item.get("MissingContextValues", [])}),
            }
    return out
