"""Hostile inputs: what a huge or garbled file costs the parser that reads it, at a size and at half of it.

    ./run_tests.sh --benchmark --hostile        writes benchmarks/hostile.json, .md and .png

Each row runs in a fresh process (so its peak memory is its own): the input is built there, then read by the
same function a check uses. Rows: an allowlist of 200,000 entries (half of them inside wildcards, so every
overlap rule is exercised), a 5 MB (5,000 kB) allowed-images file of random bytes, a 10 MB config.toml, a security group
of 1,000 egress rules against the default policy, an Auto Scaling group of 1,000 instances (described
through the gather layer, moto answering in-process), a pipeline file of 2,000 jobs. What matters is the ratio
between a row and its half: near 2 is linear; the machine is noisy, so read ratios within one run.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.record import draw_chart, write_record

ROOT = Path(__file__).resolve().parents[1]

CASES: dict[str, tuple[str, str, int]] = {
    # name: (what it is, code that builds `data` from n and reads it, full size n)
    "allowlist": (
        "squid allowlist entries",
        "from envtest.parsers.squid_allowlist import parse\n"
        "lines = [f'.zone{i}.example.com' if i % 100 == 0 else f'host{i}.zone{i - i % 100}.example.com'"
        " for i in range(n)]\n"
        "data = '\\n'.join(lines) + '\\n'\n"
        "start = time.perf_counter(); parse(data)",
        200_000,
    ),
    "images-file": (
        "kB of random bytes as the allowed-images file",
        "import random\nfrom envtest.parsers.allowed_images import parse\n"
        "rng = random.Random(7); data = rng.randbytes(n * 1000)"
        ".decode('utf-8', 'replace')\n"
        "start = time.perf_counter(); parse(data); data.split()",
        5_000,
    ),
    "config-toml": (
        "kB of config.toml (allowed_images of pinned references)",
        "from envtest.parsers.runner_config import parse\n"
        "ref = '217680906704.dkr.ecr.us-west-2.amazonaws.com/cd/env_test@sha256:' + 'a' * 64\n"
        "count = n * 1000 // (len(ref) + 4)\n"
        'data = \'[[runners]]\\n  name = "r"\\n  executor = "docker"\\n  [runners.docker]\\n    allowed_images = [\''
        " + ', '.join(f'\"{ref}\"' for _ in range(count)) + ']\\n'\n"
        "start = time.perf_counter(); parse(data)",
        10_000,
    ),
    "egress-rules": (
        "egress rules in one security group",
        "from envtest.policy.egress import Declared, Rule, evaluate\n"
        "found = [Rule('sg-1', 'runner', 'tcp', 443, 443, 'cidr', f'10.{i // 250}.{i % 250}.0/24', 'x')"
        " for i in range(n)]\n"
        "declared = [Declared('d', 'tcp', 443, 443, cidrs=tuple(f'10.{i}.0.0/16' for i in range(8)))]\n"
        "start = time.perf_counter(); evaluate(found, declared)",
        1_000,
    ),
    "asg-instances": (
        "instances in the env runner's group (moto in this process)",
        "import os\n"
        "os.environ.update(AWS_ACCESS_KEY_ID='t', AWS_SECRET_ACCESS_KEY='t', AWS_DEFAULT_REGION='us-west-2')\n"
        "from moto import mock_aws\nmock = mock_aws(); mock.start()\nimport boto3\n"
        "from envtest.gather.aws import Aws\nfrom envtest.gather.inventory import Inventory\n"
        "from envtest.pytest_plugin import in_service_instances\n"
        "ec2 = boto3.client('ec2'); asg = boto3.client('autoscaling')\n"
        "lt = ec2.create_launch_template(LaunchTemplateName='lt', LaunchTemplateData={'ImageId': 'ami-12c6146b',"
        " 'InstanceType': 't3.micro'})['LaunchTemplate']['LaunchTemplateId']\n"
        "asg.create_auto_scaling_group(AutoScalingGroupName='g', MinSize=n, MaxSize=n, DesiredCapacity=n,"
        " LaunchTemplate={'LaunchTemplateId': lt}, AvailabilityZones=['us-west-2a'])\n"
        "inventory = Inventory(Aws('us-west-2'), None)\n"
        "start = time.perf_counter(); in_service_instances(inventory.autoscaling_group('g'), inventory, 'g')",
        1_000,
    ),
    "pipeline": (
        "jobs in .gitlab-ci.yml",
        "from envtest.parsers.pipeline import parse\n"
        "jobs = ''.join(f'deploy_{i}:\\n  extends: .d\\n  tags: [sandbox-env-runner]\\n  variables:\\n"
        '    DIGEST: "sha256:{i:064x}"\\n\' for i in range(n))\n'
        "data = '.d:\\n  image: reg/cd/env_deploy@${DIGEST}\\n  script: [x]\\n' + jobs\n"
        "start = time.perf_counter(); parse(data, 'sandbox')",
        2_000,
    ),
}

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
n = {n}
{code}
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(code: str, n: int, timeout: float = 900) -> dict[str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT), n=n, code=code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = time.monotonic() - started
    return result


def main(argv: list[str]) -> int:
    rows = []
    for name, (what, code, n) in CASES.items():
        half, full = measure(code, max(1, n // 2)), measure(code, n)
        rows.append({"name": name, "what": what, "n": n, "half": half, "full": full})
        print(
            f"{name}: {n // 2} -> {half['seconds']:.2f} s, {half['peak_mb']:.0f} MB; "
            f"{n} -> {full['seconds']:.2f} s, {full['peak_mb']:.0f} MB",
            flush=True,
        )
    record = {
        "benchmark": "hostile",
        "made": time.strftime("%Y-%m-%d"),
        "python": sys.version.split()[0],
        "page_bytes": resource.getpagesize(),
        "rows": rows,
    }
    saved = write_record("hostile", record)
    out = ROOT / "benchmarks" / "hostile.md"
    out.write_text(markdown(record))
    print(f"wrote {out}")
    return 0 if draw_chart(saved) else 1


def markdown(record: dict[str, Any]) -> str:
    lines = [
        "# Hostile inputs: cost at a size and at half of it",
        "",
        f"`./run_tests.sh --benchmark --hostile` (benchmarks/hostile.py) on {record['made']}; one run on the "
        "2-core machine. Seconds are the parse alone; peak memory is the whole process (interpreter and input "
        f"included). Ratio = full / half: near 2 is linear. Machine: {record['page_bytes']} B pages, Python "
        f"{record['python']}.",
        "",
        "| input | size (half / full) | seconds (half / full) | ratio | peak MB (half / full) |",
        "|---|---|---|---|---|",
    ]
    for row in record["rows"]:
        n, half, full = row["n"], row["half"], row["full"]
        ratio = full["seconds"] / half["seconds"] if half["seconds"] > 0 else float("nan")
        lines.append(
            f"| {row['name']} ({row['what']}) | {n // 2:,} / {n:,} | {half['seconds']:.2f} / {full['seconds']:.2f} | "
            f"{ratio:.2f} | {half['peak_mb']:.0f} / {full['peak_mb']:.0f} |"
        )
    lines += [
        "",
        "![parse seconds, growth and peak memory of each hostile input](hostile.png)",
        "",
        "Left: parse seconds at half and full size (log axis: they span hundredths of a second to seconds). "
        "Middle: full / half, against the dashed line of linear growth. Right: the process's peak memory. "
        "Drawn by matplotlib from [hostile.json](hostile.json) (benchmarks/charts.py).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
