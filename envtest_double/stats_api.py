"""Stand-ins for filebeat's and logstash's monitoring APIs on an emulated ELK instance (test doubles).

Neither runs here; each port serves the JSON the real API would, from the
ELK host's files, so a seeded fault (logstash red, write errors) is a file edit:

    python -m envtest_double.stats_api DIR FILEBEAT_PORT LOGSTASH_PORT
    GET :FILEBEAT_PORT/stats         -> DIR/filebeat-stats.json
    GET :LOGSTASH_PORT/_node/stats[/events] -> DIR/logstash-stats.json
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def serve(port: int, paths: set[str], source: Path) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0].rstrip("/") not in paths:
                self.send_error(404)
                return
            try:
                body = source.read_bytes()
            except OSError:
                self.send_error(503, "stats unavailable")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main() -> None:
    directory, filebeat_port, logstash_port = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    servers = [
        serve(filebeat_port, {"/stats"}, directory / "filebeat-stats.json"),
        serve(logstash_port, {"/_node/stats", "/_node/stats/events"}, directory / "logstash-stats.json"),
    ]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"filebeat and logstash stand-ins on :{filebeat_port} and :{logstash_port}", flush=True)
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
