"""Run settings, read from the environment.

run_tests.sh turns its flags into these variables, so a pytest process (and
each xdist worker) sees the same settings without re-parsing the command line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from envtest.errors import UsageError

# \Z, not $: `$` also matches before a final newline, and "dev\n" is no env name (its policy file would not be
# envs/dev.toml). Callers use .match; the name becomes a path component, so nothing else may pass.
ENV_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}\Z")
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"", "0", "false", "no", "off"}


def parse_bool(value: str, what: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise UsageError(f"{what} must be true or false, got {value!r}")


def parse_key_value_lines(text: str, source: str) -> dict[str, str]:
    """Parse `-f` files: KEY=VALUE per line, `#` comments, optional `export `."""
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        # The line is never shown: a -f file holds credentials, and a malformed line may be nothing but one.
        if not sep:
            raise UsageError(f"{source}:{number}: expected KEY=VALUE, found no '=' (the line is not shown)")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise UsageError(
                f"{source}:{number}: expected KEY=VALUE, the text before '=' is not a variable name (letters, "
                "digits and '_', not starting with a digit; the line is not shown)"
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key] = value
    return out


@dataclass(frozen=True)
class Settings:
    env_name: str
    region: str = "us-west-2"
    idp_hostname: str | None = None
    idp_origin_hostname: str | None = None
    disruptive: bool = False
    expected_account_id: str | None = None
    my_env: str | None = None
    ci_commit_branch: str | None = None
    proxy_url: str | None = None
    ca_bundle: str | None = None
    hosts_root: Path | None = None
    # Set by a sandbox that cannot host emulated instances: why (the checks that need them skip with it).
    no_instances: str | None = None
    tf_outputs_json: Path | None = None
    tf_dir: Path | None = None
    tf_binary: str = "terraform"
    tf_state_bucket: str | None = None
    tf_state_key: str | None = None
    policy_dir: Path | None = None
    policy_override: Path | None = None
    run_dir: Path | None = None
    # The whole environment (for optional variables); never shown, it holds credentials.
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value else None

        def path(name: str) -> Path | None:
            value = get(name)
            return Path(value) if value else None

        env_name = get("ENV_NAME")
        if not env_name:
            raise UsageError("no environment name: pass <env_name> or -e, or set ENV_NAME")
        if not ENV_NAME_RE.match(env_name):
            raise UsageError(
                f"environment name {env_name!r} is not a valid env name "
                "(lower-case letters, digits and '-', starting with a letter)"
            )
        return cls(
            env_name=env_name,
            region=get("AWS_REGION") or get("AWS_DEFAULT_REGION") or "us-west-2",
            idp_hostname=get("IDP_HOSTNAME"),
            idp_origin_hostname=get("IDP_ORIGIN_HOSTNAME"),
            disruptive=parse_bool(env.get("ENVTEST_DISRUPTIVE", "false"), "-R"),
            expected_account_id=get("EXPECTED_ACCOUNT_ID"),
            my_env=get("MY_ENV"),
            ci_commit_branch=get("CI_COMMIT_BRANCH"),
            proxy_url=get("PROXY_URL"),
            ca_bundle=get("ENVTEST_CA_BUNDLE"),
            hosts_root=path("HOSTS_ROOT"),
            no_instances=get("ENVTEST_NO_INSTANCES"),
            tf_outputs_json=path("TF_OUTPUTS_JSON"),
            tf_dir=path("TF_DIR"),
            tf_binary=get("TF_BINARY") or "terraform",
            tf_state_bucket=get("TF_STATE_BUCKET"),
            tf_state_key=get("TF_STATE_KEY"),
            policy_dir=path("ENVTEST_POLICY_DIR"),
            policy_override=path("ENVTEST_POLICY_OVERRIDE"),
            run_dir=path("ENVTEST_RUN_DIR"),
            extra=dict(env),
        )
