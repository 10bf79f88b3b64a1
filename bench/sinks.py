"""Stand-ins for the world outside SocialPay that count what reaches them: a webhook
receiver that answers like a real endpoint (20-50 ms a request) and an SMTP server that
accepts every e-mail. Both run in a thread of the calling process, on 127.0.0.1.

Used by ``bench/workers.py`` and ``tests/test_workers_scale.py`` to check that each webhook
event and each receipt e-mail arrived once, whichever worker sent it.
"""

from __future__ import annotations

import random
import socketserver
import threading
import time
from collections import Counter
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EVENT_ID_HEADER = "SocialPay-Event-Id"


class WebhookReceiver:
    """``POST /<anything>``: waits ``delay`` (a random time in the range), records the
    ``SocialPay-Event-Id`` header, answers 200. Keep-alive, a thread per connection."""

    def __init__(self, delay: tuple[float, float] = (0.02, 0.05)) -> None:
        self.delay = delay
        self.events: Counter[str] = Counter()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the dispatcher expects

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                time.sleep(random.uniform(*receiver.delay))
                event_id = self.headers.get(EVENT_ID_HEADER, "")
                with receiver._lock:
                    receiver.events[event_id] += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self) -> Counter[str]:
        with self._lock:
            return Counter(self.events)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A minimal SMTP server (RFC 5321's commands Django's backend sends): every message is
    accepted and its ``Subject`` counted."""

    def __init__(self) -> None:
        self.subjects: Counter[str] = Counter()
        self._lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 sink ESMTP")
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.reply("250-sink")
                        self.reply("250 8BITMIME")
                    elif verb == "DATA":
                        self.reply("354 go on")
                        data = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                            data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                        headers = BytesHeaderParser().parsebytes(b"".join(data))
                        with sink._lock:
                            sink.subjects[str(headers.get("Subject", ""))] += 1
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # HELO, MAIL, RCPT, RSET, NOOP
                        self.reply("250 ok")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``EMAIL_URL`` for the app (django-environ's syntax)."""
        return f"smtp://127.0.0.1:{self.port}"

    def received(self) -> Counter[str]:
        with self._lock:
            return Counter(self.subjects)

    def __enter__(self) -> SmtpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
