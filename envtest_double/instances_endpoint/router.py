"""Routing: each request to the service that answers it (this package's modules), or to moto unchanged."""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import boto3

from envtest_double import paging
from envtest_double.fleet.instances import Fleet
from envtest_double.instances_endpoint.ecr import CrossAccountEcr
from envtest_double.instances_endpoint.iam_simulator import Simulator, SimulatorInputError
from envtest_double.instances_endpoint.instance_s3 import InstanceS3, serve_instance_s3
from envtest_double.instances_endpoint.ssm import SSM_ACTIONS, RunCommand, SsmError
from envtest_double.log_filter import PatternError, metric_filter_matches


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
            if self.path == paging.CONTROL_PATH:  # the SSM double's page size, as moto's (Sandbox.set_page_size)
                if self.command == "POST":
                    paging.set_page_size(int(body or b"0"))
                self._reply(200, str(paging.page_size()).encode(), "text/plain")
                return
            target = self.headers.get("X-Amz-Target", "")
            action = target.split(".", 1)[-1] if target.startswith("AmazonSSM.") else ""
            if action in SSM_ACTIONS:
                environ = {"HTTP_AUTHORIZATION": self.headers.get("Authorization", ""), "HTTP_X_AMZ_TARGET": target}
                if paging.signed_by_the_suite(environ):  # the suite's lists come in small pages, as from moto's
                    body = paging.with_limit(environ, body, paging.page_size())
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
