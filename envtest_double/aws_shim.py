#!/usr/bin/python3
"""A stand-in for the AWS CLI on the sandbox's emulated instances (a test double: the real CLI is not installed).

It knows four commands: `aws s3api head-bucket | get-object | put-object |
delete-object`. It asks the sandbox's instances endpoint over a Unix socket;
the endpoint tells which instance is asking from the caller's network
namespace (not from anything this script says), decides with that instance's
role through the IAM-simulator double, and performs what is allowed on moto.
Exit status and messages follow the CLI: 0, or 254 with "An error occurred (...)".
"""

import base64
import json
import socket
import sys

SOCKET = "@SOCKET@"


def main(argv: list[str]) -> int:
    body = None
    if "--body" in argv:
        with open(argv[argv.index("--body") + 1], "rb") as handle:
            body = base64.b64encode(handle.read()).decode()
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(60)
    client.connect(SOCKET)
    client.sendall(json.dumps({"argv": argv, "body": body}).encode() + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = client.recv(65536)
        if not chunk:
            break
        data += chunk
    answer = json.loads(data)
    if answer.get("outfile_body") is not None:
        with open(answer["outfile"], "wb") as handle:
            handle.write(base64.b64decode(answer["outfile_body"]))
    sys.stdout.write(answer.get("stdout", ""))
    sys.stderr.write(answer.get("stderr", ""))
    return int(answer["rc"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
