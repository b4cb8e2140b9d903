"""What the pipelines consume: the image, the CI templates, the JUnit and HTML reports, the IAM policy."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sysconfig
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import botocore.exceptions
import pytest
import xmlschema

from envtest.gather.aws import describe_aws_error
from envtest_double.running import Sandbox
from selftests import iam
from selftests.conftest import base_environ, run_suite
from tests.images import test_runner_config as runner_config

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(sysconfig.get_path("scripts"))
JUNIT_XSD = xmlschema.XMLSchema(str(ROOT / "schemas" / "junit.xsd"))


def tool(name: str) -> str:
    path = SCRIPTS / name
    return str(path) if path.exists() else (shutil.which(name) or pytest.fail(f"{name} is not installed"))


def test_the_dockerfile_passes_hadolint() -> None:
    done = subprocess.run(
        [tool("hadolint"), str(ROOT / "docker" / "env_test.Dockerfile")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    assert subprocess.run([tool("hadolint"), str(bad)], capture_output=True, check=False).returncode != 0


@pytest.mark.parametrize("template", sorted(p.name for p in (ROOT / "ci").glob("*.yml")))
def test_ci_templates_match_gitlabs_schema(template: str) -> None:
    done = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(ROOT / "ci" / template)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_would_catch_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text((ROOT / "ci" / "env_test.gitlab-ci.yml").read_text() + "\nbroken_job:\n  script: 5\n")
    done = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0


def test_the_templates_run_the_suite_with_the_report_gitlab_reads() -> None:
    import yaml

    jobs = yaml.safe_load((ROOT / "ci" / "env_test.gitlab-ci.yml").read_text())
    post = jobs[".env_test"]
    assert post["tags"] == ["${ENV_NAME}-env-runner"]
    assert post["artifacts"]["when"] == "always" and post["artifacts"]["expire_in"]
    assert post["artifacts"]["reports"]["junit"] == "report/junit.xml"
    assert any("run_tests.sh" in line and "report/junit.xml" in line for line in post["script"])
    nightly = jobs[".env_test_nightly"]
    assert nightly["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "schedule"'
    assert any("-R true" in line for line in nightly["script"])
    merge = jobs[".env_test_nightly_merge"]
    assert merge["rules"][0]["when"] == "always" and any("--merge-junit" in line for line in merge["script"])
    example = yaml.safe_load((ROOT / "ci" / "example.gitlab-ci.yml").read_text())
    assert example["test_tspencer"]["extends"] == ".env_test"
    assert "RECYCLE_ONLY_THESE_ASGS" in example["deploy_tspencer"]["variables"]


def test_the_entrypoint_runs_the_job_shell_gitlab_hands_it() -> None:
    done = subprocess.run(
        [str(ROOT / "run_tests.sh"), "sh", "-c", "echo from-the-job"], capture_output=True, text=True, check=False
    )
    assert done.stdout.strip() == "from-the-job"


def test_an_expired_aws_vault_session_says_to_renew_it() -> None:
    error = botocore.exceptions.ClientError(
        {"Error": {"Code": "ExpiredToken", "Message": "The security token included in the request is expired"}},
        "GetCallerIdentity",
    )
    message = str(describe_aws_error(error, "sts:GetCallerIdentity"))
    assert "\n" not in message and "renew it" in message and "aws-vault exec" in message


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.sandbox
def test_reports_of_a_failing_run_validate_and_read_well(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    from envtest_double.faults import FAULTS

    FAULTS["F12"].seed(clean_sandbox)
    run = run_suite(["sandbox"], sandbox_env, tmp_path)
    assert run.exit_code == 1
    JUNIT_XSD.validate(str(run.junit_path))
    page = _Text()
    page.feed(run.junit_path.with_suffix(".html").read_text())
    text = " ".join(page.text)
    assert (
        runner_config.test_runner_allows_no_services.__name__ in text
        and "allowed_services" in text
        and "Slowest checks" in text
    )
    assert "FAILED: a check failed" in text and "Skipped, and why" in text and "disruptive or slow test" in text
    # Each failure once (the message is the text's first line: not shown twice).
    assert text.count("set node.run_state['allowed_services']") == 1, text
    for canary in clean_sandbox.canaries.all():
        assert canary not in run.junit_path.with_suffix(".html").read_text()
    stopped = run_suite(["sandbox"], {**sandbox_env, "MY_ENV": "other"}, tmp_path)
    assert stopped.exit_code == 2
    JUNIT_XSD.validate(str(stopped.junit_path))
    # A run the preflight stopped gets its page too, saying it judged nothing.
    stopped_html = _Text()
    stopped_html.feed(stopped.junit_path.with_suffix(".html").read_text())
    assert "NOT EVALUATED" in " ".join(stopped_html.text)


@pytest.mark.sandbox
def test_the_iam_policy_allows_every_call_a_run_makes(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    run = run_suite(["sandbox"], sandbox_env, tmp_path)
    record = json.loads(run.junit_path.with_suffix(".api-calls.json").read_text())
    assert record["calls"], "no calls counted"
    assert any(e.startswith("s3:GetObject ") for e in record["s3_resources"]), "no S3 object reads recorded"
    policy = iam.statements("envtest-readonly.json")
    assert iam.refused(policy, record) == []
    allowed = [a for st in policy for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])]
    assert not any(re.match(r"\w+:(Put|Create|Delete|Update|Modify|Authorize|Revoke)", a) for a in allowed)


def test_the_iam_check_would_catch_a_missing_permission() -> None:
    policy = iam.statements("envtest-readonly.json")
    record = {
        "calls": {"ec2:DescribeVpcs": 1, "s3:GetObject": 1},
        "s3_resources": ["s3:GetObject arn:aws:s3:::some-other-bucket/key"],
    }
    assert iam.refused(policy, record) == ["s3:GetObject arn:aws:s3:::some-other-bucket/key"]
    record = {"calls": {"ec2:RunInstances": 1}, "s3_resources": []}
    assert iam.refused(policy, record) == ["ec2:RunInstances"]


@pytest.mark.sandbox
def test_a_nightly_run_over_two_envs_merges_into_one_report(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    """The shared sandbox is env `sandbox`; env `staging` comes up beside it while the first run goes on."""
    base = Path(tempfile.mkdtemp(prefix="envtest-nightly-"))
    base.chmod(0o755)
    env = base_environ()
    staging = base / "staging"
    up = subprocess.Popen(
        [str(ROOT / "run_tests.sh"), "--sandbox-up", str(staging), "staging"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reports = [tmp_path / "sandbox.xml", tmp_path / "staging.xml"]
    try:
        first = run_suite(["sandbox", "-R", "true"], sandbox_env, tmp_path)
        assert first.exit_code == 0, first.stdout[-2000:] + first.stderr[-2000:]
        shutil.copy(first.junit_path, reports[0])
        _, errors = up.communicate(timeout=120)
        assert up.returncode == 0, errors
        run = subprocess.run(
            ["bash", "-c", f'. {staging}/env.sh && ./run_tests.sh "$ENV_NAME" -R true -j {reports[1]}'],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        merge = subprocess.run(
            [str(ROOT / "run_tests.sh"), "--merge-junit", str(tmp_path / "nightly.xml"), *map(str, reports)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert merge.returncode == 0, merge.stdout + merge.stderr
    finally:
        if up.poll() is None:
            up.kill()
        subprocess.run(
            [str(ROOT / "run_tests.sh"), "--sandbox-down", str(staging)], env=env, capture_output=True, check=False
        )
        shutil.rmtree(base, ignore_errors=True)
    JUNIT_XSD.validate(str(tmp_path / "nightly.xml"))
    # An env that sent no report fails the merge instead of vanishing from it.
    lost = subprocess.run(
        [str(ROOT / "run_tests.sh"), "--merge-junit", str(tmp_path / "partial.xml"), str(reports[0])],
        env={**env, "EXPECTED_ENVS": "sandbox staging"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert lost.returncode == 2 and "staging" in lost.stderr
    suites = [s.get("name") for s in xmlschema.XMLResource(str(tmp_path / "nightly.xml")).root.iter("testsuite")]
    assert suites == ["envtest [sandbox]", "envtest [staging]"]
    assert "staging" in (tmp_path / "nightly.html").read_text()


@pytest.mark.sandbox
def test_hostile_text_in_a_failure_keeps_the_junit_valid(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    probe = ROOT / "selftests" / "probes" / "hostile_probe.py"
    run = run_suite(["sandbox", "-t", str(probe)], sandbox_env, tmp_path)
    assert run.exit_code == 1, run.stdout + run.stderr
    JUNIT_XSD.validate(str(run.junit_path))
    assert run.verdicts() == {"test_hostile_failure_text": "failed"}  # no forged test case
    text = run.text_of("test_hostile_failure_text")
    assert "red" in text and "line two" in text
    assert "\x1b" not in run.stdout.split("What to fix:")[-1]
    _Text().feed(run.junit_path.with_suffix(".html").read_text())


def test_the_image_works_in_a_directory_its_user_may_write() -> None:
    """`docker run <image> dev` writes report/ under the working directory: the last WORKDIR must be created
    for the image's USER (the install tree stays root's)."""
    text = (ROOT / "docker" / "env_test.Dockerfile").read_text()
    workdir = re.findall(r"^WORKDIR (\S+)$", text, re.M)[-1]
    user = re.findall(r"^USER (\S+)$", text, re.M)[-1]
    assert re.search(rf"install -d -o {user} -g {user} {re.escape(workdir)}\b", text), (workdir, user)


def test_the_pipelines_use_rules_and_take_the_registry_from_variables() -> None:
    import yaml

    template = yaml.safe_load((ROOT / "ci" / "env_test.gitlab-ci.yml").read_text())
    example = yaml.safe_load((ROOT / "ci" / "example.gitlab-ci.yml").read_text())
    assert "${AWS_REGION}" in template["variables"]["ECR_REGISTRY"]
    assert "us-west-2" not in template["variables"]["ECR_REGISTRY"]
    jobs = {name: job for doc in (template, example) for name, job in doc.items() if isinstance(job, dict)}
    assert [name for name, job in jobs.items() if "only" in job or "except" in job] == []
    used = {job.get("stage") for job in jobs.values() if job.get("stage")}
    assert used <= set(example["stages"]), used - set(example["stages"])
