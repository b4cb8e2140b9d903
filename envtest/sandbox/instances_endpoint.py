"""The sandbox's SSM and IAM-simulator endpoint, beside moto (selected with AWS_ENDPOINT_URL_SSM / _IAM).

moto accepts SSM RunCommand but runs nothing, and has no IAM policy
simulator. This endpoint answers those operations for real and passes every
other request to moto unchanged:

- SendCommand, GetCommandInvocation, ListCommandInvocations,
  DescribeInstanceInformation: commands run on the emulated instances of
  fleet.py (AWS-RunShellScript only), with SSM's output limits and statuses;
- SimulatePrincipalPolicy: the role's inline and attached policies as moto
  holds them, plus the resource policy passed in, evaluated with moto's own
  policy-statement matcher (a test double for IAM's simulator: explicit deny
  wins, then any allow, else implicit deny; conditions are not modelled),
  answered in IAM's current shape (ResourceSpecificResults);
- ECR ListImages/DescribeImages with another account's registryId: the
  repository policy checked, then moto asked as that account (moto ignores a
  foreign registryId);
- CloudWatch Logs TestMetricFilter: JSON filter patterns (log_filter.py; moto
  has no TestMetricFilter).

    python -m envtest.sandbox.instances_endpoint DIR PORT MOTO_ENDPOINT CONFIG.json
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from xml.sax.saxutils import escape

import boto3
import botocore.exceptions

from envtest.policy import bucket_policy
from envtest.sandbox.fleet import Fleet
from envtest.sandbox.log_filter import PatternError, metric_filter_matches

STDOUT_LIMIT, STDERR_LIMIT = 24000, 8000
SSM_ACTIONS = {"SendCommand", "GetCommandInvocation", "ListCommandInvocations", "DescribeInstanceInformation"}


class SsmError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class RunCommand:
    """Commands and their invocations, run on the fleet in threads."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.invocations: dict[tuple[str, str], dict[str, Any]] = {}
        self.lock = threading.Lock()

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("DocumentName") != "AWS-RunShellScript":
            raise SsmError(
                "InvalidDocument", f"the sandbox runs only AWS-RunShellScript, not {body.get('DocumentName')}"
            )
        known = {i["InstanceId"] for i in self.fleet.describe()}
        targets = list(body.get("InstanceIds", []))
        unknown = [i for i in targets if i not in known]
        if not targets or unknown:
            raise SsmError("InvalidInstanceId", f"instances not managed by SSM: {', '.join(unknown) or '(none given)'}")
        parameters = body.get("Parameters", {})
        command = "\n".join(parameters.get("commands", []))
        timeout = float((parameters.get("executionTimeout") or ["3600"])[0])
        command_id = str(uuid.uuid4())
        now = time.time()
        for instance_id in targets:
            record = {
                "CommandId": command_id,
                "InstanceId": instance_id,
                "DocumentName": "AWS-RunShellScript",
                "PluginName": "aws:runShellScript",
                "Status": "InProgress",
                "StatusDetails": "InProgress",
                "ResponseCode": -1,
                "StandardOutputContent": "",
                "StandardErrorContent": "",
                "RequestedDateTime": now,
            }
            with self.lock:
                self.invocations[(command_id, instance_id)] = record
            threading.Thread(target=self._run, args=(record, command, timeout), daemon=True).start()
        return {
            "Command": {
                "CommandId": command_id,
                "DocumentName": "AWS-RunShellScript",
                "InstanceIds": targets,
                "Parameters": parameters,
                "Status": "InProgress",
                "RequestedDateTime": now,
                "TargetCount": len(targets),
            }
        }

    def _run(self, record: dict[str, Any], command: str, timeout: float) -> None:
        status, code, out, err = self.fleet.run(record["InstanceId"], command, timeout)
        with self.lock:
            record.update(
                Status=status,
                StatusDetails=status,
                ResponseCode=code,
                StandardOutputContent=out[:STDOUT_LIMIT],
                StandardErrorContent=err[:STDERR_LIMIT],
            )

    def get(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            record = self.invocations.get((body.get("CommandId", ""), body.get("InstanceId", "")))
            if record is None:
                raise SsmError("InvocationDoesNotExist", "no such command invocation")
            return {k: v for k, v in record.items() if k != "RequestedDateTime"}

    def list(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            records = [
                r
                for (command_id, instance_id), r in self.invocations.items()
                if body.get("CommandId") in {None, command_id} and body.get("InstanceId") in {None, instance_id}
            ]
            listed = []
            for r in records:
                item = {k: r[k] for k in ("CommandId", "InstanceId", "DocumentName", "Status", "StatusDetails")}
                if body.get("Details"):
                    item["CommandPlugins"] = [
                        {
                            "Name": r["PluginName"],
                            "Status": r["Status"],
                            "ResponseCode": r["ResponseCode"],
                            "Output": r["StandardOutputContent"][:2500],
                        }
                    ]
                listed.append(item)
        return {"CommandInvocations": listed}

    def describe_instances(self, body: dict[str, Any]) -> dict[str, Any]:
        wanted: set[str] | None = None
        for item in body.get("Filters", []) + body.get("InstanceInformationFilterList", []):
            # Filters use Key/Values; the older InstanceInformationFilterList uses key/valueSet.
            if (item.get("Key") or item.get("key")) == "InstanceIds":
                wanted = set(item.get("Values") or item.get("valueSet") or [])
        listed = [
            {
                "InstanceId": i["InstanceId"],
                "PingStatus": "Online",
                "PlatformType": "Linux",
                "PlatformName": "Ubuntu",
                "ResourceType": "EC2Instance",
                "IPAddress": i["IPAddress"],
                "ComputerName": i["ComputerName"],
                "AgentVersion": "3.3.0.0",
            }
            for i in self.fleet.describe()
            if wanted is None or i["InstanceId"] in wanted
        ]
        return {"InstanceInformationList": listed}


class SimulatorInputError(ValueError):
    pass


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
        actions = [form[k][0] for k in sorted(form, key=_member_index) if k.startswith("ActionNames.member.")]
        resources = [form[k][0] for k in sorted(form, key=_member_index) if k.startswith("ResourceArns.member.")] or [
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
            names = {"*"} if principal == "*" else set(_as_list((principal or {}).get("AWS", [])))
            actions = {a.lower() for a in _as_list(statement.get("Action", []))}
            if not (names & (caller | {"*"})) or not (action.lower() in actions or "ecr:*" in actions):
                continue
            if statement.get("Effect") == "Deny":
                return False
            verdict = verdict or statement.get("Effect") == "Allow"
        return verdict


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


CLI_OPERATIONS = {
    "head-bucket": ("s3:ListBucket", "HeadBucket"),
    "get-object": ("s3:GetObject", "GetObject"),
    "put-object": ("s3:PutObject", "PutObject"),
    "delete-object": ("s3:DeleteObject", "DeleteObject"),
}


class InstanceS3:
    """S3 for the AWS CLI stand-in on the instances (a test double).

    The caller's role decides: its own policies through the simulator double, the bucket policy through the
    suite's own evaluator (envtest/policy/bucket_policy.py) for a request from the caller's address through the
    S3 gateway endpoint. So in the sandbox the live matrix agrees with the simulated one by construction: what
    it proves is the path (SSM, the instance, the CLI, S3), the write discipline and the cleanup, not IAM's
    semantics (those are tested against AWS's documented examples in selftests/test_bucket_policy.py).
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
        s3_request = bucket_policy.through_gateway_endpoint(
            arn, self.account, "aws", vpc=self.vpc, endpoint=self.gateway, source_ip=address
        )
        try:
            decision = bucket_policy.combine(
                identity, bucket_policy.decide(policy, s3_request, action=action, resource=resource)
            )
        except bucket_policy.Undecidable as exc:
            return {"rc": 255, "stderr": f"sandbox aws stand-in cannot decide the bucket policy: {exc}\n"}
        if decision != "allowed":
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


def _member_index(key: str) -> int:
    tail = key.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def make_handler(
    moto: str, run_command: RunCommand, simulator: Simulator, ecr: CrossAccountEcr
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _forward(self, body: bytes, account: str | None = None) -> None:
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length", "connection"}
            }
            if account:
                headers["x-moto-account-id"] = account
            request = urllib.request.Request(moto + self.path, data=body or None, headers=headers, method=self.command)
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    status, payload, content_type = answer.status, answer.read(), answer.headers.get("Content-Type", "")
            except urllib.error.HTTPError as exc:
                status, payload, content_type = exc.code, exc.read(), exc.headers.get("Content-Type", "")
            self._reply(status, payload, content_type or "application/octet-stream")

        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            target = self.headers.get("X-Amz-Target", "")
            action = target.split(".", 1)[-1] if target.startswith("AmazonSSM.") else ""
            if action in SSM_ACTIONS:
                self._ssm(action, json.loads(body or b"{}"))
                return
            if target == "Logs_20140328.TestMetricFilter":
                self._test_metric_filter(json.loads(body or b"{}"))
                return
            if ecr.applies(target, body):
                request = json.loads(body or b"{}")
                registry, repository = str(request["registryId"]), str(request.get("repositoryName", ""))
                operation = target.rsplit(".", 1)[-1]
                headers = {k: v for k, v in self.headers.items() if k.lower() in {"authorization", "x-amz-date"}}
                if not ecr.allowed(registry, repository, operation, headers):
                    message = (
                        f"User: arn:aws:iam::{ecr.caller_account}:root is not authorized to perform: "
                        f"{CrossAccountEcr.ACTIONS[operation]} on resource: {repository} because no resource-based "
                        "policy allows it"
                    )
                    error = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
                    self._reply(400, error, "application/x-amz-json-1.1")
                    return
                self._forward(body, account=registry)
                return
            if self.command == "POST" and b"Action=SimulatePrincipalPolicy" in body:
                form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
                try:
                    self._reply(200, simulator.simulate(form).encode(), "text/xml")
                except SimulatorInputError as exc:
                    error = (
                        "<ErrorResponse><Error><Code>InvalidInput</Code>"
                        f"<Message>{escape(str(exc))}</Message></Error></ErrorResponse>"
                    )
                    self._reply(400, error.encode(), "text/xml")
                except Exception as exc:
                    error = (
                        "<ErrorResponse><Error><Code>NoSuchEntity</Code>"
                        f"<Message>{escape(str(exc))}</Message></Error></ErrorResponse>"
                    )
                    self._reply(404, error.encode(), "text/xml")
                return
            self._forward(body)

        def _test_metric_filter(self, body: dict[str, Any]) -> None:
            try:
                answer = metric_filter_matches(
                    str(body.get("filterPattern", "")), list(body.get("logEventMessages", []))
                )
            except PatternError as exc:
                error = json.dumps({"__type": "InvalidParameterException", "message": str(exc)}).encode()
                self._reply(400, error, "application/x-amz-json-1.1")
                return
            self._reply(200, json.dumps(answer).encode(), "application/x-amz-json-1.1")

        def _ssm(self, action: str, body: dict[str, Any]) -> None:
            handlers = {
                "SendCommand": run_command.send,
                "GetCommandInvocation": run_command.get,
                "ListCommandInvocations": run_command.list,
                "DescribeInstanceInformation": run_command.describe_instances,
            }
            try:
                answer = handlers[action](body)
            except SsmError as exc:
                error = json.dumps({"__type": exc.code, "message": str(exc)}).encode()
                self._reply(400, error, "application/x-amz-json-1.1")
                return
            self._reply(200, json.dumps(answer).encode(), "application/x-amz-json-1.1")

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        def log_message(self, *_: object) -> None:
            return

    return Handler


def main() -> None:
    directory, port, moto, config_file = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    config = json.loads(config_file.read_text())
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=config["region"]
    )
    fleet = Fleet(directory, session.client("ec2", endpoint_url=moto))
    if config.get("instances", True):
        fleet.start()
        threading.Thread(target=fleet.sync_forever, daemon=True).start()
    simulator = Simulator(session.client("iam", endpoint_url=moto))
    instance_s3 = InstanceS3(fleet, simulator, session.client("s3", endpoint_url=moto), config)
    threading.Thread(target=serve_instance_s3, args=(Path(config["aws_socket"]), instance_s3), daemon=True).start()
    handler = make_handler(moto, RunCommand(fleet), simulator, CrossAccountEcr(moto, config["account"]))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    print(f"ssm and iam-simulator endpoint on 127.0.0.1:{port}, {len(fleet.describe())} instances", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
