"""start_sandbox: every part of a sandbox started and seeded, DIR/env.sh and the run's policy written."""

from __future__ import annotations

import json
import os
import random
import shlex
import sys
from pathlib import Path

from envtest_double import env_facts, paging, proxy_lists, runner_env, squid
from envtest_double.processes import SandboxError, free_port, port_open, start, stop_all, tail, wait_until
from envtest_double.revisions import SANDBOX_REVISIONS
from envtest_double.running import copy_clean_files, moto_writes
from envtest_double.seed import seed
from envtest_double.seed.host_files import write_host_file
from envtest_double.seed.proxy_and_docker_files import write_proxy_lists
from envtest_double.servers import moto_ready, python_env, start_gitlab, start_instances, start_upstream
from envtest_double.tls import make_certificates

POLICY_DIR = Path(__file__).resolve().parents[1] / "policy"
SANDBOX_POLICY = """\
# The local sandbox's policy, merged over policy/default.toml and envs/<env>.toml.
# moto's fixed account:
account_id = "{account}"

[images]
max_blocks = {max_blocks}
mode = "{era}"
[images.lockdown_probe]
# The GitLab double moves a job on every 0.2 s: a short wait still bounds the probe.
wait = 15
poll = 0.1

[proxy]
# The sandbox has no outside: a loopback port where nothing listens stands in
# for an outside address (a real security group drops; here it is refused).
# Each sandbox has its own address, so sandboxes side by side never see each
# other's faults.
direct_probe = ["{direct_probe}"]
[proxy.paths]
# The IdP's proxy, where the runner reaches it (obproxy.login.gov.internal:3128 in an env): the sandbox's second squid.
urls = {{ outboundproxy = "{idp_proxy_url}" }}
# Emulated instances answer at once: short waits keep the sandbox quick.
[instances]
online_timeout = 20
[recycle]
capacity_timeout = 60
poll_interval = 0.2
[edge]
health_attempts = 2
health_sleep = 0.2
# A dropped connection between loopback namespaces is as final after 1 s as after the Go suite's 5 s.
[redis]
timeout = 1
"""
SANDBOX_GITLAB = """\
[lockdown]
# The sandbox's GitLab deployment: the account its config bucket lives in, and the env accounts that bucket's
# policy grants besides this env's own (none: without a revision it serves this env alone).
gitlab_account = "{gitlab_account}"
env_accounts = []
"""


def _start_squid(directory: Path, binary: str, name: str, *, label: str, host: Path, hosts_file: Path) -> int:
    """A squid named `name` (its pid, log and state directory) loading the lists of the proxy host `host`."""
    lists = {key: host / path.lstrip("/") for key, path in _LIST_PATHS.items()}
    state_dir = directory / name
    user = squid.proxy_user()
    squid.prepare(state_dir, user, readable=[*lists.values(), hosts_file])
    conf = state_dir / "squid.conf"
    for attempt in range(3):
        port = free_port()
        conf.write_text(
            squid.squid_conf(
                port=port,
                allowlist=lists["allowlist"],
                denylist=lists["denylist"],
                ip_allowlist=lists["ip_allowlist"],
                hosts_file=hosts_file,
                state_dir=state_dir,
                run_as=user,
                name=label,
            )
        )
        conf.with_suffix(".conf.clean").write_text(conf.read_text())  # what a reset restores
        # A service name of its own (-n): squid names its shared-memory segments after it (/squid-cf__metadata.shm
        # for all of them by default), and two squids starting at once, or one starting while another's segment is
        # still there, stopped with "shm_open ... File exists" (seen once, a prove right after the self-tests).
        service = f"envtest{port}"
        process = start(name, [binary, "-N", "-n", service, "-f", str(conf)], directory)
        try:
            wait_until(name, lambda p=port: port_open("127.0.0.1", p), process, directory / "logs" / f"{name}.log", 30)
            return port
        except SandboxError as exc:
            # squid writes why it stopped to its cache_log, not to its output. A port another sandbox starting
            # beside this one took between free_port and squid's bind is the one cause worth another port.
            said = tail(state_dir / "cache.log")
            if "Address already in use" not in said or attempt == 2:
                raise SandboxError(f"{exc}\n{state_dir / 'cache.log'}:\n{said}") from None
    raise AssertionError("unreachable")


_LIST_PATHS = {
    "allowlist": proxy_lists.ALLOWLIST_PATH,
    "denylist": proxy_lists.DENYLIST_PATH,
    "ip_allowlist": proxy_lists.IP_ALLOWLIST_PATH,
}


def start_sandbox(
    directory: Path,
    env: str = env_facts.DEFAULT_ENV,
    scale: int = 1,
    era: str | None = None,
    revision: str | None = None,
) -> dict[str, str]:
    """Start every part, seed it, write DIR/env.sh; return the run's environment.

    Whatever fails on the way (a part that does not come up, a seed AWS refuses, a bug), the parts already
    started are stopped before the error goes on: a failed start leaves nothing running.
    """
    try:
        return _start_sandbox(directory, env, scale, era, revision)
    except BaseException:
        stop_all(directory)
        raise


def _start_sandbox(directory: Path, env: str, scale: int, era: str | None, revision: str | None) -> dict[str, str]:
    # The revision is the caller's word, never the environment's: a shell that sourced one sandbox's env.sh
    # (ENVTEST_SANDBOX_REVISION=era1) and then asks for the composite (revision None) gets the composite.
    if revision is not None:
        if revision not in SANDBOX_REVISIONS:
            raise SandboxError(
                f"no sandbox revision {revision!r}: one of {', '.join(SANDBOX_REVISIONS)}, or composite (every "
                "check's resources, from no single commit)"
            )
        if SANDBOX_REVISIONS[revision].not_built:
            raise SandboxError(
                f"the sandbox cannot build revision {revision} yet: {SANDBOX_REVISIONS[revision].not_built}"
            )
        if not (POLICY_DIR / "revisions" / f"{revision}.toml").is_file():
            raise SandboxError(
                f"revision {revision!r} has no policy/revisions/{revision}.toml: the suite cannot expect it"
            )
        era = SANDBOX_REVISIONS[revision].era
    era = era or os.environ.get("ENVTEST_SANDBOX_ERA", "file")
    if era not in {"file", "pattern"}:
        raise SandboxError(f"ENVTEST_SANDBOX_ERA={era!r}: file (the runbook's allowed-images file) or pattern")
    world = runner_env.World(env, scale, era, revision=revision)
    squid_binary = squid.find_squid()  # fail first, with the install command, before starting anything
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)  # squid, once it drops root, must reach its allowlist and logs
    canaries = runner_env.Canaries()

    moto_port = free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    moto = start(
        "moto",
        [sys.executable, "-m", "envtest_double.moto_server", "-H", "127.0.0.1", "-p", str(moto_port)],
        directory,
        env=python_env(),
    )

    direct_probe_ip = f"127.{random.randint(1, 63)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    upstream_names = world.upstream_names()
    # 127.0.0.1 too: the sandbox's reset reaches the GitLab double by address (its name resolves only through squid).
    tls = make_certificates(directory / "tls", upstream_names, addresses=("127.0.0.1",))
    upstream_ip = start_upstream(directory, tls)

    hosts = directory / "hosts"
    allowlist = write_host_file(hosts, "env-runner-proxy", proxy_lists.ALLOWLIST_PATH, world.allowlist)
    idp_allowlist = write_host_file(hosts, "outboundproxy", proxy_lists.ALLOWLIST_PATH, world.idp_proxy_allowlist)
    # squid.conf.erb's other lists, which the sandbox's squids load as the real ones do.
    written = write_proxy_lists(hosts)
    for path in [allowlist, idp_allowlist, *written]:
        for parent in [hosts, *path.relative_to(directory).parents]:
            (directory / parent).chmod(0o755)
    hosts_file = directory / "squid-hosts"
    # One name per line: squid's hosts_file reader drops names past its line buffer.
    hosts_file.write_text("".join(f"{upstream_ip} {name}\n" for name in upstream_names))
    hosts_file.chmod(0o644)
    # The env runner's own proxy, and the IdP's: <env>-base gives every host, the runner included, its port 3128
    # (vpc_module sg.tf), so the runner reaches it too, with its own allowlist (idp_allowlist.py).
    squid_port = _start_squid(
        directory, squid_binary, "squid", label="env-runner", host=hosts / "env-runner-proxy", hosts_file=hosts_file
    )
    idp_squid_port = _start_squid(
        directory, squid_binary, "squid-idp", label="idp", host=hosts / "outboundproxy", hosts_file=hosts_file
    )
    wait_until("the moto server", moto_ready(endpoint), moto, directory / "logs" / "moto.log", timeout=60)

    proxy_url = f"http://127.0.0.1:{squid_port}"
    seeded = seed(endpoint, directory, canaries, proxy_url, world)
    instances_endpoint, no_instances = start_instances(directory, endpoint, seeded["estate"])
    gitlab = start_gitlab(directory, world, canaries, tls)
    environ = {
        "ENV_NAME": world.env,
        # Jobs on the env runner get MY_ENV; the sandbox stands for running there.
        "MY_ENV": world.env,
        "AWS_ENDPOINT_URL": endpoint,
        # The suite's own key id: the sandbox pages its lists (paging.py), not the seeding clients' ("testing").
        "AWS_ACCESS_KEY_ID": paging.SUITE_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": env_facts.REGION,
        "AWS_DEFAULT_REGION": env_facts.REGION,
        "IDP_HOSTNAME": world.idp_host,
        "IDP_ORIGIN_HOSTNAME": world.origin_host,
        "PROXY_URL": proxy_url,
        "ENVTEST_CA_BUNDLE": str(tls[0]),
        "ENVTEST_SANDBOX_DIR": str(directory),
        "ENVTEST_SANDBOX_SCALE": str(scale),
        "ENVTEST_SANDBOX_ERA": era,
        "ENVTEST_SANDBOX_REVISION": revision or "",
        "ALLOWLIST_TEMPLATE": str(directory / "allowlist.template"),
        "PIPELINE_FILE": str(directory / "gitlab-ci.yml"),
        "ENVTEST_POLICY_OVERRIDE": str(directory / "policy-override.toml"),
        # The GitLab double (gitlab.py), for the live lockdown probe: by GitLab's name, connected to its address.
        "GITLAB_URL": gitlab["url"],
        "GITLAB_CONNECT_TO": gitlab["connect_to"],
        "GITLAB_API_TOKEN": canaries.gitlab_api_token,
        "GITLAB_PROJECT_ID": gitlab["project_id"],
        "GITLAB_PIPELINE_ID": gitlab["pipeline_id"],
        # The config bucket lives in the GitLab deployment's account: its settings are read through this role
        # there (seed/lockdown_access.py), as a laptop or pipeline is given one (docs/operating.md).
        "GITLAB_ACCOUNT_ROLE_ARN": f"arn:aws:iam::{env_facts.GITLAB_ACCOUNT}:role/{env_facts.GITLAB_READER_ROLE}",
    }
    # SSM RunCommand, IAM's simulator, ECR and Logs go to the instances' endpoint; the rest to moto.
    environ["AWS_ENDPOINT_URL_SSM"] = instances_endpoint
    environ["AWS_ENDPOINT_URL_IAM"] = instances_endpoint
    # Cross-account ECR reads and CloudWatch Logs' TestMetricFilter: moto lacks them; instances_endpoint/ answers.
    environ["AWS_ENDPOINT_URL_ECR"] = instances_endpoint
    environ["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = instances_endpoint  # botocore's variable for "CloudWatch Logs"
    if no_instances:
        # Without emulated instances, host files are read from DIR/hosts directly.
        environ["HOSTS_ROOT"] = str(hosts)
        environ["ENVTEST_NO_INSTANCES"] = no_instances
    (directory / "allowlist.template").write_text(world.allowlist_template)
    # A sandbox built as a revision names it: the suite then expects what that revision's policy says (and the
    # sandbox's own [images] mode line is left to it).
    policy_text = SANDBOX_POLICY.format(
        account=env_facts.ACCOUNT,
        max_blocks=max(4, world.image_blocks),
        direct_probe=f"{direct_probe_ip}:9",
        idp_proxy_url=f"http://127.0.0.1:{idp_squid_port}",
        era=world.era,
    )
    if revision is not None:
        policy_text = f'revision = "{revision}"\n' + policy_text.replace(f'mode = "{world.era}"\n', "")
    else:
        # No revision says where the GitLab deployment is: the sandbox says where its own is, and whom it grants.
        policy_text += SANDBOX_GITLAB.format(gitlab_account=env_facts.GITLAB_ACCOUNT)
    # The real code's hole the sandbox shows, waived with its sources (docs/findings.md).
    policy_text += "\n" + (Path(__file__).resolve().parent / "sandbox-waivers.toml").read_text()
    (directory / "policy-override.toml").write_text(policy_text)
    (directory / "env.json").write_text(json.dumps(environ, indent=2))
    lines = [
        '# envtest sandbox: `. DIR/env.sh && ./run_tests.sh "$ENV_NAME"`',
        "unset AWS_PROFILE AWS_VAULT AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE",
    ]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in environ.items()]
    (directory / "env.sh").write_text("\n".join(lines) + "\n")
    state = {
        "direct_probe": [direct_probe_ip, 9],
        "moto_endpoint": endpoint,
        "squid_port": squid_port,
        "idp_squid_port": idp_squid_port,
        "upstream_ip": upstream_ip,
        "upstream_names": upstream_names,
        **seeded,
    }
    # What a reset returns to: moto's state as seeded, and the files a fault may change.
    state["moto_writes"] = moto_writes(endpoint)
    copy_clean_files(directory)
    (directory / "sandbox.json").write_text(json.dumps(state, indent=2))
    canary_file = directory / "canaries.json"
    canary_file.write_text(json.dumps(canaries.__dict__))
    canary_file.chmod(0o600)
    return environ
