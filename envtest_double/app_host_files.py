"""The application hosts' status files, as the checks read them: cloud-init's status, filebeat's and
logstash's stats.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from envtest_double.app_access import APP_ROLES


def cloud_init_status(errors: list[str] | None = None) -> str:
    stage = {"errors": [], "finished": 1764111600.5, "start": 1764111590.1}
    status = {
        "v1": {
            "datasource": "DataSourceEc2Local",
            "init-local": dict(stage),
            "init": dict(stage),
            "modules-config": dict(stage),
            "modules-final": {**stage, "errors": list(errors or [])},
            "stage": None,
        }
    }
    return json.dumps(status, indent=1)


def filebeat_stats(write_errors: int = 0, write_bytes: int = 1_234_567) -> str:
    return json.dumps(
        {
            "beat": {"info": {"name": "filebeat", "version": "8.15.0"}},
            "libbeat": {
                "output": {
                    "type": "logstash",
                    "write": {"bytes": write_bytes, "errors": write_errors},
                    "events": {"acked": 4200, "failed": 0, "total": 4200},
                }
            },
        },
        indent=1,
    )


def logstash_stats(status: str = "green", events_out: int = 4200) -> str:
    return json.dumps(
        {
            "host": "elk",
            "version": "8.15.0",
            "status": status,
            "events": {"in": 4200, "filtered": 4200, "out": events_out},
        },
        indent=1,
    )


CLOUD_INIT_PATH = "/var/lib/cloud/data/status.json"
FILEBEAT_STATS = "/var/lib/envtest-sandbox/filebeat-stats.json"
LOGSTASH_STATS = "/var/lib/envtest-sandbox/logstash-stats.json"


def write_host_files(hosts: Path, write: Any, roles: list[str] = APP_ROLES) -> None:
    """The files the application hosts' checks read."""
    for role in roles:
        write(hosts, role, CLOUD_INIT_PATH, cloud_init_status())
    write(hosts, "elk", FILEBEAT_STATS, filebeat_stats())
    write(hosts, "elk", LOGSTASH_STATS, logstash_stats())
