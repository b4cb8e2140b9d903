"""The instances' S3, over a socket: `aws s3api` on an emulated host, answered for that host's role."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
from pathlib import Path
from typing import Any

import botocore.exceptions

from envtest_double import s3_authorization
from envtest_double.fleet.instances import Fleet
from envtest_double.instances_endpoint.iam_simulator import Simulator

CLI_OPERATIONS = {
    "head-bucket": ("s3:ListBucket", "HeadBucket"),
    "get-object": ("s3:GetObject", "GetObject"),
    "put-object": ("s3:PutObject", "PutObject"),
    "delete-object": ("s3:DeleteObject", "DeleteObject"),
}


class InstanceS3:
    """S3 for the AWS CLI stand-in on the instances (a test double).

    The caller's role decides: its own policies through the simulator double, the bucket policy through the
    sandbox's own model of S3 authorisation (s3_authorization.py, written from AWS's documentation, not the
    suite's judge) for a request from the caller's address through the S3 gateway endpoint. The live matrix
    and the suite's simulated one are then two independent readings of the same policies: a rule wrong in
    either shows as a disagreement.
    """

    def __init__(self, fleet: Fleet, simulator: Simulator, s3: Any, config: dict[str, Any]) -> None:
        self.fleet, self.simulator, self.s3 = fleet, simulator, s3
        self.role_arns: dict[str, str] = config["role_arns"]
        self.account, self.vpc, self.gateway = config["account"], config["vpc"], config["s3_gateway"]

    def caller(self, pid: int) -> tuple[str, str] | None:
        """(role, address) of the emulated instance whose network namespace the calling process is in."""
        try:
            caller = os.stat(f"/proc/{pid}/ns/net").st_ino
        except OSError:
            return None
        for member in list(self.fleet.members.values()):
            try:
                if os.stat(f"/run/netns/{member.netns}").st_ino == caller:
                    return member.role, member.ip
            except OSError:
                continue
        return None

    def _exists(self, bucket: str, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError:
            return False
        return True

    def handle(self, pid: int, request: dict[str, Any]) -> dict[str, Any]:
        argv = list(request.get("argv", []))
        if len(argv) < 2 or argv[0] != "s3api" or argv[1] not in CLI_OPERATIONS:
            return {"rc": 252, "stderr": f"the sandbox's aws stand-in knows only s3api {sorted(CLI_OPERATIONS)}\n"}

        def option(name: str) -> str:
            return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else ""

        action, operation = CLI_OPERATIONS[argv[1]]
        bucket, key = option("--bucket"), option("--key")
        found = self.caller(pid)
        if found is None or found[0] not in self.role_arns:
            return {"rc": 253, "stderr": "Unable to locate credentials (no instance profile for this host)\n"}
        role, address = found
        arn = self.role_arns[role]
        resource = f"arn:aws:s3:::{bucket}" + (f"/{key}" if argv[1] != "head-bucket" else "")
        try:
            policy = self.s3.get_bucket_policy(Bucket=bucket)["Policy"]
        except botocore.exceptions.ClientError:  # no policy (or no bucket: the operation below says so)
            policy = None
        identity = self.simulator.decide(
            self.simulator.identity_policies(arn.rsplit("/", 1)[-1]), None, arn, action, resource
        )
        caller = s3_authorization.via_vpc_endpoint(arn, vpc=self.vpc, endpoint=self.gateway, private_ip=address)
        try:
            said = s3_authorization.resource_policy_says(policy, caller, action, resource)
        except (s3_authorization.NotModelled, ValueError) as exc:
            return {"rc": 255, "stderr": f"sandbox aws stand-in cannot decide the bucket policy: {exc}\n"}
        identity_said = {"explicitDeny": s3_authorization.DENY, "allowed": s3_authorization.ALLOW}.get(
            identity, s3_authorization.NO_OPINION
        )
        bucket_account = self.account  # the sandbox's buckets live in the env's account
        if not s3_authorization.allowed(identity_said, said, same_account=caller.account == bucket_account):
            code, message = ("403", "Forbidden") if argv[1] == "head-bucket" else ("AccessDenied", "Access Denied")
            return {
                "rc": 254,
                "stderr": f"\nAn error occurred ({code}) when calling the {operation} operation: {message}\n",
            }
        try:
            if argv[1] == "head-bucket":
                self.s3.head_bucket(Bucket=bucket)
                return {"rc": 0, "stdout": ""}
            if argv[1] == "put-object":
                if option("--if-none-match") == "*" and self._exists(bucket, key):
                    return {
                        "rc": 254,
                        "stderr": f"\nAn error occurred (PreconditionFailed) when calling the {operation} operation: "
                        "At least one of the pre-conditions you specified did not hold\n",
                    }
                body = base64.b64decode(request.get("body") or "")
                answer = self.s3.put_object(Bucket=bucket, Key=key, Body=body)
                return {"rc": 0, "stdout": json.dumps({"ETag": answer.get("ETag", "")}) + "\n"}
            if argv[1] == "delete-object":
                self.s3.delete_object(Bucket=bucket, Key=key)
                return {"rc": 0, "stdout": ""}
            got = self.s3.get_object(Bucket=bucket, Key=key)
            return {
                "rc": 0,
                "stdout": json.dumps({"ContentLength": got["ContentLength"]}) + "\n",
                "outfile": argv[-1],
                "outfile_body": base64.b64encode(got["Body"].read()).decode(),
            }
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            return {
                "rc": 254,
                "stderr": f"\nAn error occurred ({error.get('Code')}) when calling the {operation} operation: "
                f"{error.get('Message')}\n",
            }


def serve_instance_s3(path: Path, s3: InstanceS3) -> None:
    """Answer the instances' AWS CLI stand-in on a Unix socket (reachable from every namespace: it is a file)."""
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    path.chmod(0o666)
    server.listen(16)

    def answer(conn: socket.socket) -> None:
        with conn:
            pid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[0]
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            try:
                reply = s3.handle(pid, json.loads(data or b"{}"))
            except Exception as exc:
                reply = {"rc": 255, "stderr": f"sandbox aws stand-in failed: {exc}\n"}
            conn.sendall(json.dumps(reply).encode() + b"\n")

    while True:
        conn, _ = server.accept()
        threading.Thread(target=answer, args=(conn,), daemon=True).start()
