"""A real HTTP receiver for webhook tests: ``http.server`` on loopback in a thread.

``plan`` is a list of behaviours consumed one request at a time (``200``, ``500``,
``"sleep"`` to answer after the client's timeout, ``302`` to redirect to ``/elsewhere``);
when it is empty the receiver answers 200. Every request is recorded with its headers and
raw body and the connection it came on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float
    client: tuple  # the client's (address, port): one per connection


@dataclass
class Receiver:
    plan: list = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    sleep_seconds: float = 2.5

    def start(self) -> Receiver:
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, like the servers webhook receivers run on.
            protocol_version = "HTTP/1.1"
            # Each answer in one segment (a buffered writer, flushed per request, and no
            # Nagle): otherwise every answer on a kept connection waits for a delayed ACK.
            wbufsize = -1
            disable_nagle_algorithm = True

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with lock:
                    receiver.requests.append(
                        Received(
                            self.path,
                            dict(self.headers),
                            body,
                            time.monotonic(),
                            self.client_address,
                        )
                    )
                    step = receiver.plan.pop(0) if receiver.plan else 200
                if step == "sleep":
                    time.sleep(receiver.sleep_seconds)
                    step = 200
                self.send_response(step)
                if step == 302:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.requests) < count:
            time.sleep(0.02)
        return list(self.requests)
