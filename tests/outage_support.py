"""What the outage tests share: SocialPay under gunicorn and a Celery worker in processes
of their own, a Redis server of the test's own, a TCP proxy that stands in for the network
path to PostgreSQL (closing it is PostgreSQL going away, for this app only), and a load
of API clients that records every answer."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def app_env(*, database_url: str, redis_url: str, queue: str, tmp: Path) -> dict[str, str]:
    """The environment of the app's processes: the test database and the given Redis, no
    rate limit or send limit in the way of the load, receipts woken after every payment."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DJANGO_SETTINGS_MODULE="socialpay.settings",
        SOCIALPAY_PROFILE="test",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        CELERY_RESULT_BACKEND=redis_url,
        CELERY_QUEUE=queue,
        DB_CONN_MAX_AGE="60",
        REDIS_RETRY_AFTER_SECONDS="1",
        RECEIPTS_KICK_SECONDS="0",
        THROTTLE_ANON="100000/min",
        THROTTLE_USER="100000/min",
        THROTTLE_MONEY="100000/min",
        WALLET_TRANSFERS_PER_MINUTE="100000",
        WALLET_UNVERIFIED_WEEKLY_SEND=str(10**12),
        WALLET_UNVERIFIED_PER_TRANSFER=str(10**12),
        WALLET_REAUTH_ABOVE=str(10**12),
        PROMETHEUS_MULTIPROC_DIR=str(tmp / "metrics"),
        LOG_LEVEL="WARNING",
    )
    (tmp / "metrics").mkdir(exist_ok=True)
    return env


@dataclass
class Service:
    cmd: list[str]
    env: dict[str, str]
    log: Path
    ready: object  # () -> bool
    what: str
    # Started again when it exits, as the deployment's supervisor does (Celery workers; a
    # web server is not: the outage tests prove the same one recovers).
    restart: bool = False


def web(env: dict[str, str], port: int, log: Path) -> Service:
    """gunicorn as production runs it (deploy/gunicorn.conf.py), two workers."""
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"}
    return Service(
        [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py"],
        env,
        log,
        lambda: _answers(port, "/livez"),
        "gunicorn",
    )


def worker(env: dict[str, str], log: Path) -> Service:
    """A Celery worker on the test's own queue; ready when its own node answers a ping."""
    from celery import Celery

    node = f"outage-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    # Not the current app: the shared tasks of this process keep publishing to its broker.
    pinger = Celery("outage-ping", broker=env["CELERY_BROKER_URL"], set_as_current=False)

    def ready() -> bool:
        try:
            return bool(pinger.control.ping(destination=[node], timeout=1))
        except Exception:
            return False

    cmd = [
        str(BIN / "celery"), "-A", "socialpay", "worker", "--pool", "threads",
        "--concurrency", "2", "-Q", env["CELERY_QUEUE"], "-n", node,
        "--without-mingle", "--without-gossip", "--loglevel", "WARNING",
    ]  # fmt: skip
    return Service(cmd, env, log, ready, "celery worker", restart=True)


@contextlib.contextmanager
def running(*services: Service, timeout: float = 120):
    """Start every service (each in a process group of its own) at once, wait until each
    is ready, and stop them all (TERM, then KILL) when the block ends.

    Meanwhile a service marked ``restart`` whose process exits is started again, as the
    deployment's supervisor does (compose: ``restart: unless-stopped``). A Celery worker
    can die of its broker going away: kombu raised in the worker's own connection clean-up
    when Redis was killed in the middle of an acknowledgement ("Unrecoverable error:
    'NoneType' object has no attribute 'hostname'")."""
    procs: list[subprocess.Popen] = []
    logs = [open(service.log, "wb") for service in services]  # noqa: SIM115
    stopping = threading.Event()

    def start(service: Service, out) -> subprocess.Popen:
        return subprocess.Popen(
            service.cmd,
            cwd=ROOT,
            env=service.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def supervise() -> None:
        while not stopping.wait(0.5):
            for i, (service, out) in enumerate(zip(services, logs, strict=True)):
                if service.restart and procs[i].poll() is not None and not stopping.is_set():
                    out.write(f"\n--- exited with {procs[i].returncode}; started again\n".encode())
                    out.flush()
                    procs[i] = start(service, out)

    supervisor = threading.Thread(target=supervise, daemon=True)
    try:
        for service, out in zip(services, logs, strict=True):
            procs.append(start(service, out))
        for i, service in enumerate(services):
            wait_until(
                lambda s=service, i=i: procs[i].poll() is None and s.ready(),
                timeout=timeout,
                what=f"{service.what} ({service.log})",
                interval=0.5,
            )
        supervisor.start()
        yield procs
    finally:
        stopping.set()
        if supervisor.is_alive():
            supervisor.join(timeout=5)
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for out in logs:
            out.close()


def _answers(port: int, path: str) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


class RedisServer:
    """A redis-server of the test's own on a spare port, killed and started at will."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self._pong, timeout=10, what="redis-server")

    def kill(self) -> None:
        """As a crash: no shutdown, nothing saved."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class TcpProxy:
    """127.0.0.1:<port> -> PostgreSQL. ``stop()`` closes the listening socket and cuts
    every open connection (what the app sees when PostgreSQL goes away); ``start()``
    listens again on the same port.

    ``target_host`` may be a socket directory (a path, as libpq takes it: the embedded
    test server listens only there), reached at ``<dir>/.s.PGSQL.<port>``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = self._connect_upstream()
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _connect_upstream(self) -> socket.socket:
        host, port = self.target
        if not host.startswith("/"):
            return socket.create_connection(self.target, timeout=5)
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.settimeout(5)
        try:
            upstream.connect(os.path.join(host, f".s.PGSQL.{port}"))
        except OSError:
            upstream.close()
            raise
        return upstream

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


@dataclass
class Answer:
    at: float
    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: dict | None


@dataclass
class Load:
    """API clients paying each other and reading their wallets until stopped."""

    port: int
    tokens: dict[str, str]  # handle -> bearer token
    clients: int = 4
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for i in range(self.clients):
            thread = threading.Thread(target=self._run, args=(i,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self, seed: int) -> None:
        rng = random.Random(seed)
        handles = sorted(self.tokens)
        n = 0
        while not self._stop.is_set():
            n += 1
            sender, recipient = rng.sample(handles, 2)
            if n % 3:
                body = {"to": recipient, "amount": rng.randint(1, 50), "currency": "USD"}
                self._call("POST", "/api/v1/transfers", sender, body)
            else:
                self._call("GET", "/api/v1/wallet", sender)
                self._call("GET", "/", None)

    def _call(self, method: str, path: str, handle: str | None, body: dict | None = None):
        headers = {"Content-Type": "application/json"}
        if handle:
            headers["Authorization"] = f"Bearer {self.tokens[handle]}"
        if method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, json.dumps(body) if body else None, headers)
            response = conn.getresponse()
            raw = response.read()
            parsed = None
            if response.getheader("Content-Type", "").startswith("application/json"):
                parsed = json.loads(raw)
            self.answers.append(
                Answer(time.monotonic(), method, path, response.status,
                       dict(response.getheaders()), parsed)
            )  # fmt: skip
        except OSError as exc:
            self.errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
        finally:
            conn.close()
