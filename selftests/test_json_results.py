"""--json: one record per check, in the schema docs/results.schema.json documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from envtest import catalogue
from envtest.policy import load_policy
from envtest.report.json_report import severity_of
from selftests.conftest import ROOT
from tests.network import test_egress as egress
from tests.network import test_vpc_endpoints as endpoints

SCHEMA = json.loads((ROOT / "docs" / "results.schema.json").read_text())
LEVELS = SCHEMA["properties"]["checks"]["items"]["properties"]["severity"]["enum"]


def valid_results(path: Path) -> dict[str, Any]:
    """A results file, validated against the documented schema (raises with the first violation)."""
    results = json.loads(path.read_text())
    jsonschema.validate(results, SCHEMA, format_checker=jsonschema.FormatChecker())
    return results


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_every_check_has_a_severity_the_schema_allows() -> None:
    severity = load_policy("sandbox").section("severity")
    checks = catalogue.checks()
    assert sorted(set(severity["checks"]) - {c.removeprefix("test_") for c in checks}) == []
    assert {severity_of(c.name, c.area, severity) for c in checks.values()} <= set(LEVELS)
    # policy [severity.checks] raises one network check; the area's level holds for the rest.
    assert severity_of(egress.test_runner_egress_holds_only_declared_rules.__name__, "network", severity) == "critical"
    assert severity_of(endpoints.test_interface_endpoints_have_private_dns_on.__name__, "network", severity) == "high"
