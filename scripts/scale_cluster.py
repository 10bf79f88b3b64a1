"""SocialPay past one machine, on one machine: a PostgreSQL primary, streaming replicas,
PgBouncer in transaction mode, a broker Redis of its own and Celery workers with their own
host names and queues. ``make scale-up`` / ``make scale-down`` / ``make scale-status``;
the test suite and ``bench/scale.py`` start the same servers from Python (``Cluster``).

    python scripts/scale_cluster.py up [--replicas 1] [--workers 2] [--dir .data/scale]
    python scripts/scale_cluster.py down | status

Everything lives under one directory (``.data/scale`` by default, git-ignored) and listens
on 127.0.0.1 only, on the ports written in ``<dir>/cluster.json``:

- ``primary/``: ``initdb``, ``wal_level=replica``; the app's database is created there.
- ``replica-N/``: ``pg_basebackup -R -X stream`` of the primary, a hot standby streaming
  from it (``primary_conninfo`` written by ``-R``), read-only.
- ``pgbouncer/``: Debian's PgBouncer (``apt-get install pgbouncer``; 1.18 has no
  protocol-level prepared statements, hence ``LEDGER_PREPARED_STATEMENTS=False``) in
  ``pool_mode=transaction`` in front of the primary, ``default_pool_size`` server
  connections however many clients.
- ``broker/``: a Redis with ``maxmemory-policy noeviction`` and an append-only file, for
  Celery alone (the cache may evict, queued tasks must not).
- ``redis-cluster-N/`` (unless ``up --no-redis-cluster``): six ``redis-server
  --cluster-enabled yes``, three masters and a replica each, for the cache, rate limits
  and timelines (``REDIS_CLUSTER_URLS``); the broker stays on its own Redis.
- ``worker-N``: ``celery worker -n <name>@<host>`` consuming queues of its own (see
  docs/scaling.md, "Queues"), started only by ``up --workers N`` with ``DATABASE_URL``.

PostgreSQL refuses to run as root: as root the servers run as the ``postgres`` system user
(or pgserver's own user), which then owns their data directories.

Binaries: ``SCALE_PG_BIN`` if set, else the embedded pgserver's (the same major version the
test suite runs on, so that its ``pg_dump`` can read the test database), else the newest
``/usr/lib/postgresql/*/bin``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / ".data" / "scale"
DATABASE = "socialpay"
# Redis Cluster: three masters and a replica each; a master unreachable for this long is
# failed over to its replica (the servers' default is 15 s).
REDIS_CLUSTER_NODES = 6
REDIS_CLUSTER_NODE_TIMEOUT_MS = 2000

# Settings of the primary: enough WAL senders and slots for a few standbys, asynchronous
# commit off (a money commit is durable on the primary's disk before it is acknowledged);
# the replica is asynchronous: a read there may be a moment old, which the router bounds.
PRIMARY_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "wal_keep_size": "'256MB'",
    "hot_standby": "on",
    # A standby's queries are not cancelled by the primary's vacuum of rows they read.
    "hot_standby_feedback": "on",
    "max_connections": "200",
    "shared_buffers": "'128MB'",
    "fsync": "on",
}


def pg_bin() -> Path:
    if os.environ.get("SCALE_PG_BIN"):
        return Path(os.environ["SCALE_PG_BIN"])
    with contextlib.suppress(ImportError):
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin"
        if (bundled / "initdb").exists():
            return bundled
    system = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    if system:
        return system[0]
    raise RuntimeError("no PostgreSQL binaries: set SCALE_PG_BIN")


def _server_user() -> str | None:
    """The user the servers run as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(KeyError):
        pwd.getpwnam("postgres")
        return "postgres"
    from pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")
    return "pgserver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


@dataclass
class Cluster:
    """The servers under ``directory``; ``up()`` starts what is not running, ``down()``
    stops everything. The ports are chosen once and kept in ``cluster.json``."""

    directory: Path = DEFAULT_DIR
    replicas: int = 1
    primary_port: int = 0
    replica_ports: list[int] = field(default_factory=list)
    pgbouncer_port: int = 0
    pgbouncer_pool_size: int = 8
    broker_port: int = 0
    workers: list[str] = field(default_factory=list)
    # Redis Cluster (up_redis_cluster): client ports and cluster-bus ports of its nodes.
    redis_cluster_ports: list[int] = field(default_factory=list)
    redis_cluster_bus_ports: list[int] = field(default_factory=list)

    # --- state --------------------------------------------------------------------------
    @classmethod
    def load(cls, directory: Path = DEFAULT_DIR) -> Cluster:
        state = directory / "cluster.json"
        if state.exists():
            data = json.loads(state.read_text())
            data["directory"] = Path(data["directory"])
            return cls(**data)
        return cls(directory=directory)

    def save(self) -> None:
        data = asdict(self)
        data["directory"] = str(self.directory)
        (self.directory / "cluster.json").write_text(json.dumps(data, indent=2) + "\n")

    # --- URLs ---------------------------------------------------------------------------
    def url(self, port: int, database: str = DATABASE) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def pgbouncer_url(self) -> str:
        return self.url(self.pgbouncer_port)

    @property
    def replica_urls(self) -> list[str]:
        return [self.url(port) for port in self.replica_ports]

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.broker_port}/0"

    def environment(self) -> dict[str, str]:
        """The app's settings for the scaled setup (``make scale-up`` prints them)."""
        return {
            "DATABASE_URL": self.pgbouncer_url,
            "DATABASE_REPLICA_URLS": ",".join(self.replica_urls),
            # Session-level idempotency claims must not go through transaction pooling.
            "DATABASE_SESSION_URL": self.primary_url,
            "LEDGER_PREPARED_STATEMENTS": "false",
            "DB_DISABLE_SERVER_SIDE_CURSORS": "true",
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_SPLIT_QUEUES": "true",
            **self.redis_cluster_environment(),
        }

    # --- processes ----------------------------------------------------------------------
    def _run(self, *args: str | Path, check: bool = True, **kw) -> subprocess.CompletedProcess:
        user = _server_user()
        return subprocess.run(
            [str(a) for a in args],
            check=check,
            user=user,
            group=pwd.getpwnam(user).pw_gid if user else None,
            extra_groups=[] if user else None,
            cwd="/",
            capture_output=True,
            text=True,
            **kw,
        )

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        user = _server_user()
        if user:
            entry = pwd.getpwnam(user)
            shutil.chown(path, entry.pw_uid, entry.pw_gid)
            path.chmod(0o700)
            # The server's user must be able to walk down to its data directory, wherever
            # the checkout is (a root-only home, say): let others traverse, not list.
            for parent in path.resolve().parents:
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    parent.chmod(mode | stat.S_IXOTH)

    def _pg_ctl(self, data: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self._run(pg_bin() / "pg_ctl", "-D", data, *args, check=check)

    def _pg_running(self, data: Path) -> bool:
        return data.exists() and self._pg_ctl(data, "status", check=False).returncode == 0

    def _pg_start(self, data: Path, port: int) -> None:
        if self._pg_running(data):
            return
        self._pg_ctl(
            data,
            "-w",
            "-t",
            "120",
            "-l",
            data / "server.log",
            "-o",
            f"-p {port} -k {data}",
            "start",
        )

    def up_primary(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        data = self.directory / "primary"
        self.primary_port = self.primary_port or free_port()
        if not (data / "PG_VERSION").exists():
            self._own(data)
            self._run(
                pg_bin() / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"
            )
            with (data / "postgresql.conf").open("a") as conf:
                conf.write("\n# scripts/scale_cluster.py\n")
                for key, value in PRIMARY_SETTINGS.items():
                    conf.write(f"{key} = {value}\n")
            with (data / "pg_hba.conf").open("a") as hba:
                hba.write("host replication postgres 127.0.0.1/32 trust\n")
        self._pg_start(data, self.primary_port)
        self.save()
        self.sql(self.primary_port, f'CREATE DATABASE "{DATABASE}"', check=False)

    def up_replicas(self) -> None:
        while len(self.replica_ports) < self.replicas:
            self.replica_ports.append(free_port())
        for n, port in enumerate(self.replica_ports):
            data = self.directory / f"replica-{n}"
            if not (data / "PG_VERSION").exists():
                self._own(data)
                # -R writes standby.signal and primary_conninfo; -X stream copies the WAL
                # written while the copy runs; -C/-S a slot, so that the primary keeps WAL
                # until this standby has it.
                slot = f"replica_{n}"
                # A slot left by an earlier standby of this name would refuse -C.
                drop = "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                self.sql(self.primary_port, f"{drop} WHERE slot_name = '{slot}'", check=False)
                self._run(
                    pg_bin() / "pg_basebackup",
                    "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                    "-D", data, "-R", "-X", "stream", "-C", "-S", slot, "-c", "fast",
                )  # fmt: skip
            self._pg_start(data, port)
        self.save()

    def up_pgbouncer(self) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise RuntimeError("PgBouncer is missing: apt-get install pgbouncer")
        data = self.directory / "pgbouncer"
        self._own(data)
        self.pgbouncer_port = self.pgbouncer_port or free_port()
        pidfile = data / "pgbouncer.pid"
        if pidfile.exists() and _alive(int(pidfile.read_text().strip() or 0)):
            return
        # Transaction pooling: a server connection serves one transaction at a time, so
        # many app processes share default_pool_size PostgreSQL backends per database.
        (data / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={self.primary_port} user=postgres\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.pgbouncer_port}\n"
            f"unix_socket_dir = {data}\n"
            "auth_type = trust\n"
            "admin_users = postgres\n"
            f"auth_file = {data / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pgbouncer_pool_size}\n"
            "max_client_conn = 2000\n"
            # Django sets these at connect time; in transaction mode they are accepted and
            # ignored rather than refused.
            "ignore_startup_parameters = extra_float_digits,options\n"
            "server_reset_query = DISCARD ALL\n"
            f"logfile = {data / 'pgbouncer.log'}\n"
            f"pidfile = {pidfile}\n"
        )
        (data / "userlist.txt").write_text('"postgres" ""\n')
        for path in data.iterdir():
            self._own(data)
            user = _server_user()
            if user:
                entry = pwd.getpwnam(user)
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(binary, "-d", data / "pgbouncer.ini")
        _wait_port(self.pgbouncer_port)
        self.save()

    def up_broker(self) -> None:
        data = self.directory / "broker"
        data.mkdir(parents=True, exist_ok=True)
        self.broker_port = self.broker_port or free_port()
        pidfile = data / "redis.pid"
        if pidfile.exists() and _alive(int(pidfile.read_text().strip() or 0)):
            return
        subprocess.run(
            [
                "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1",
                "--port", str(self.broker_port), "--dir", str(data),
                "--pidfile", str(pidfile), "--logfile", str(data / "redis.log"),
                "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction",
            ],
            check=True,
        )  # fmt: skip
        _wait_port(self.broker_port)
        self.save()

    def up_workers(self, count: int, redis_url: str) -> None:
        """``count`` Celery workers, each with a host name of its own (``-n``) as if on a
        machine of its own, with the queues split by kind of work (core.celery_queues):
        even-numbered workers take the default and payouts queues, odd-numbered ones
        webhooks and receipts (one worker takes them all)."""
        from_queue = os.environ.get("CELERY_QUEUE", "celery")
        kinds = {k: f"{from_queue}.{k}" for k in ("payouts", "webhooks", "receipts")}
        plans = [
            [from_queue, kinds["payouts"]],
            [kinds["webhooks"], kinds["receipts"]],
        ]
        python = ROOT / ".venv" / "bin" / "python"
        for n in range(count):
            name = f"worker{n}@scale-host-{n}"
            queues = [from_queue, *kinds.values()] if count == 1 else plans[n % 2]
            pidfile = self.directory / f"worker-{n}.pid"
            if pidfile.exists() and _alive(int(pidfile.read_text().strip() or 0)):
                continue
            env = dict(os.environ, **self.environment(), REDIS_URL=redis_url)
            env["CELERY_SPLIT_QUEUES"] = "true"
            subprocess.run(
                [
                    str(python), "-m", "celery", "-A", "socialpay", "worker",
                    "-n", name, "-Q", ",".join(queues), "--concurrency", "1", "--detach",
                    "--pidfile", str(pidfile),
                    "--logfile", str(self.directory / f"worker-{n}.log"),
                    "--loglevel", "WARNING",
                ],
                cwd=ROOT, env=env, check=True,
            )  # fmt: skip
            described = f"{name} ({','.join(queues)})"
            if described not in self.workers:
                self.workers.append(described)
        self.save()

    def up(self, *, workers: int = 0, redis_url: str = "", redis_cluster: bool = False) -> Cluster:
        self.up_primary()
        self.up_replicas()
        self.up_pgbouncer()
        self.up_broker()
        if redis_cluster:
            self.up_redis_cluster()
        if workers:
            self.up_workers(workers, redis_url)
        return self

    def down(self) -> None:
        for pidfile in sorted(self.directory.glob("worker-*.pid")):
            _stop_pid(pidfile, signal.SIGTERM)
        _stop_pid(self.directory / "pgbouncer" / "pgbouncer.pid", signal.SIGINT)
        _stop_pid(self.directory / "broker" / "redis.pid", signal.SIGTERM)
        self.down_redis_cluster()
        for data in [*sorted(self.directory.glob("replica-*")), self.directory / "primary"]:
            if self._pg_running(data):
                self._pg_ctl(data, "-w", "-m", "fast", "stop", check=False)
        self.workers = []
        if self.directory.exists():
            self.save()

    # --- queries ------------------------------------------------------------------------
    def sql(self, port: int, statement: str, *, check: bool = True, database: str = "postgres"):
        """One statement through psql (as the servers' user); returns its output."""
        result = self._run(
            pg_bin() / "psql",
            "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
            "-Atqc", statement,
            check=check,
        )  # fmt: skip
        return result.stdout.strip()

    def pgbouncer_pools(self, database: str = DATABASE) -> dict[str, int]:
        """PgBouncer's ``SHOW POOLS`` for ``database``: client (``cl_*``) and server
        (``sv_*``) connection counts, summed over users."""
        result = self._run(
            pg_bin() / "psql",
            "-h", "127.0.0.1", "-p", str(self.pgbouncer_port), "-U", "postgres",
            "-d", "pgbouncer", "-Aqc", "SHOW POOLS",
        )  # fmt: skip
        lines = [line.split("|") for line in result.stdout.splitlines() if "|" in line]
        header, rows = lines[0], lines[1:]
        totals: dict[str, int] = {}
        for row in rows:
            values = dict(zip(header, row, strict=False))
            if values.get("database") != database:
                continue
            for key, value in values.items():
                if key.startswith(("cl_", "sv_")) and value.isdigit():
                    totals[key] = totals.get(key, 0) + int(value)
        return totals

    def copy_database(self, source_url: str, database: str = DATABASE) -> None:
        """The schema and rows of ``source_url``'s database into ``database`` on the
        primary (a migrated database in seconds instead of a ``migrate`` in minutes); the
        replicas receive it by streaming."""
        self.sql(self.primary_port, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self.sql(self.primary_port, f'CREATE DATABASE "{database}"')
        dump = subprocess.run(
            [str(pg_bin() / "pg_dump"), "--no-owner", "--no-privileges", "-d", source_url],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if dump.returncode != 0:
            raise RuntimeError(f"pg_dump failed: {dump.stderr[-2000:]}")
        # Per-column storage options (ALTER COLUMN ... SET (...)) are none of Django's, and
        # a server may carry private ones another build rejects: leave them behind.
        script = "\n".join(
            line
            for line in dump.stdout.splitlines()
            if not (
                line.startswith("ALTER TABLE ONLY ")
                and " ALTER COLUMN " in line
                and " SET (" in line
            )
        )
        restore = subprocess.run(
            [
                str(pg_bin() / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-X",
                "-d", self.url(self.primary_port, database),
            ],
            input=script, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if restore.returncode != 0:
            raise RuntimeError(f"copying the database failed: {restore.stderr[-2000:]}")

    def status(self) -> dict[str, str]:
        out = {
            "primary": f"{self.primary_port} "
            + ("up" if self._pg_running(self.directory / "primary") else "down")
        }
        for n, port in enumerate(self.replica_ports):
            running = self._pg_running(self.directory / f"replica-{n}")
            out[f"replica-{n}"] = f"{port} " + ("up" if running else "down")
        for name, pidfile in (
            ("pgbouncer", self.directory / "pgbouncer" / "pgbouncer.pid"),
            ("broker", self.directory / "broker" / "redis.pid"),
        ):
            running = pidfile.exists() and _alive(int(pidfile.read_text().strip() or 0))
            port = self.pgbouncer_port if name == "pgbouncer" else self.broker_port
            out[name] = f"{port} " + ("up" if running else "down")
        out["workers"] = ", ".join(self.workers) or "none"
        out.update(self.redis_cluster_status())
        return out

    # --- Redis Cluster (cache, rate limits, home timelines) -----------------------------
    # Six redis-server processes with cluster mode on, three masters and a replica of each,
    # under <dir>/redis-cluster-N/. The broker stays on its own Redis (up_broker): kombu's
    # transport does not speak Cluster, and queued tasks must not share a server that may
    # evict or fail over with a lost write. See docs/scaling.md, "Redis Cluster".

    @property
    def redis_cluster_urls(self) -> list[str]:
        return [f"redis://127.0.0.1:{port}" for port in self.redis_cluster_ports]

    def redis_cluster_environment(self) -> dict[str, str]:
        if not self.redis_cluster_ports:
            return {}
        return {"REDIS_CLUSTER_URLS": ",".join(self.redis_cluster_urls)}

    def _redis_cluster_dir(self, n: int) -> Path:
        return self.directory / f"redis-cluster-{n}"

    def redis_cluster_node_start(self, n: int) -> None:
        """Start node ``n`` (again): with the ``nodes.conf`` it wrote, a node that was
        killed rejoins the cluster, as a replica if its replica was promoted meanwhile."""
        data = self._redis_cluster_dir(n)
        data.mkdir(parents=True, exist_ok=True)
        pidfile = data / "redis.pid"
        if pidfile.exists() and _alive(int(pidfile.read_text().strip() or 0)):
            return
        port, bus = self.redis_cluster_ports[n], self.redis_cluster_bus_ports[n]
        subprocess.run(
            [
                "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1",
                "--port", str(port), "--cluster-enabled", "yes",
                # The bus port is chosen like the client port (port + 10000 may not exist).
                "--cluster-port", str(bus),
                "--cluster-config-file", str(data / "nodes.conf"),
                # A master unreachable this long is marked failed and its replica takes
                # over: a failover takes about twice this.
                "--cluster-node-timeout", str(REDIS_CLUSTER_NODE_TIMEOUT_MS),
                # While a shard has no master, the other shards keep answering for their
                # slots (the default refuses every query until the whole cluster is up).
                "--cluster-require-full-coverage", "no",
                # A replica takes over however long ago it last heard from its master: for
                # a cache, serving slightly old data beats a shard without a master.
                "--cluster-replica-validity-factor", "0",
                "--dir", str(data), "--pidfile", str(pidfile),
                "--logfile", str(data / "redis.log"),
                # A cache: nothing is persisted, the least recently used keys are evicted.
                "--save", "", "--appendonly", "no",
                "--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru",
            ],
            check=True,
        )  # fmt: skip
        _wait_port(port)

    def redis_cluster_node_kill(self, n: int) -> None:
        """SIGKILL node ``n`` (a crash: no goodbye to the other nodes)."""
        pidfile = self._redis_cluster_dir(n) / "redis.pid"
        pid = int(pidfile.read_text().strip() or 0) if pidfile.exists() else 0
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.01)
        pidfile.unlink(missing_ok=True)

    def redis_cluster_alive(self, n: int) -> bool:
        pidfile = self._redis_cluster_dir(n) / "redis.pid"
        return pidfile.exists() and _alive(int(pidfile.read_text().strip() or 0))

    def _redis_cluster_ask(self, port: int, *command: str) -> str | None:
        import redis

        client = redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=2)
        try:
            if command == ("INFO", "replication"):
                return client.info("replication").get("master_link_status")
            return client.execute_command(*command).decode()
        except redis.RedisError:
            return None
        finally:
            client.close()

    def redis_cluster_info(self, n: int) -> dict[str, str]:
        """``CLUSTER INFO`` of node ``n`` as a dict (empty when it does not answer)."""
        text = self._redis_cluster_ask(self.redis_cluster_ports[n], "CLUSTER", "INFO") or ""
        return dict(line.split(":", 1) for line in text.split() if ":" in line)

    def redis_cluster_roles(self) -> dict[int, str]:
        """Each node's role as the live nodes see it: ``master``, ``slave`` or ``fail``
        (by node index)."""
        port_to_n = {port: n for n, port in enumerate(self.redis_cluster_ports)}
        for n, port in enumerate(self.redis_cluster_ports):
            if not self.redis_cluster_alive(n):
                continue
            text = self._redis_cluster_ask(port, "CLUSTER", "NODES")
            if not text:
                continue
            roles = {}
            for line in text.splitlines():
                fields = line.split()
                node_port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
                flags = fields[2].split(",")
                role = (
                    "fail"
                    if {"fail", "fail?"} & set(flags)
                    else ("master" if "master" in flags else "slave")
                )
                if node_port in port_to_n:  # not a node of an earlier cluster here
                    roles[port_to_n[node_port]] = role
            return roles
        return {}

    def redis_cluster_masters(self) -> list[int]:
        return sorted(n for n, role in self.redis_cluster_roles().items() if role == "master")

    def redis_cluster_whole(self) -> bool:
        """Every node answers, the cluster's state is ok on each, and there are three
        masters each with a replica (what ``up_redis_cluster`` builds)."""
        if not self.redis_cluster_ports or not all(
            self.redis_cluster_alive(n) for n in range(len(self.redis_cluster_ports))
        ):
            return False
        for n in range(len(self.redis_cluster_ports)):
            info = self.redis_cluster_info(n)
            if info.get("cluster_state") != "ok" or info.get("cluster_known_nodes") != str(
                REDIS_CLUSTER_NODES
            ):
                return False
        roles = self.redis_cluster_roles()
        if sorted(roles.values()) != ["master"] * 3 + ["slave"] * 3:
            return False
        # Each replica has its master's data (a replica still in its first sync could
        # not take over).
        return all(
            self._redis_cluster_ask(self.redis_cluster_ports[n], "INFO", "replication") == "up"
            for n, role in roles.items()
            if role == "slave"
        )

    def redis_cluster_serving(self) -> bool:
        """Every slot has a live master: three masters answer and agree on
        ``cluster_state:ok`` (after a master's crash: once its replica is promoted)."""
        live = [n for n in range(len(self.redis_cluster_ports)) if self.redis_cluster_alive(n)]
        roles = self.redis_cluster_roles()
        masters = [n for n in live if roles.get(n) == "master"]
        return len(masters) == 3 and all(
            self.redis_cluster_info(n).get("cluster_state") == "ok" for n in masters
        )

    def redis_cluster_wait(self, *, whole: bool = False, seconds: float = 60) -> None:
        """Until every slot has a live master (``whole``: and every node is back, three
        masters with a replica each)."""
        check = self.redis_cluster_whole if whole else self.redis_cluster_serving
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.05)
        raise RuntimeError("the Redis Cluster did not come back to cluster_state:ok")

    def up_redis_cluster(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        while len(self.redis_cluster_ports) < REDIS_CLUSTER_NODES:
            self.redis_cluster_ports.append(free_port())
        while len(self.redis_cluster_bus_ports) < REDIS_CLUSTER_NODES:
            port = free_port()
            if port not in self.redis_cluster_ports:
                self.redis_cluster_bus_ports.append(port)
        self.save()
        for n in range(REDIS_CLUSTER_NODES):
            self.redis_cluster_node_start(n)
        if self.redis_cluster_info(0).get("cluster_known_nodes") != str(REDIS_CLUSTER_NODES):
            # New nodes: assign the 16,384 slots to three masters and give each a replica
            # (redis-cli puts a master's replica on another "host"; here all are one).
            nodes = [f"127.0.0.1:{port}" for port in self.redis_cluster_ports]
            result = subprocess.run(
                ["redis-cli", "--cluster", "create", *nodes,
                 "--cluster-replicas", "1", "--cluster-yes"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if result.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed: {result.stdout[-2000:]}")
        self.redis_cluster_wait(whole=True)
        self.save()

    def down_redis_cluster(self) -> None:
        for n in range(len(self.redis_cluster_ports)):
            _stop_pid(self._redis_cluster_dir(n) / "redis.pid", signal.SIGTERM)

    def redis_cluster_status(self) -> dict[str, str]:
        if not self.redis_cluster_ports:
            return {}
        roles = self.redis_cluster_roles()
        out = {}
        for n, port in enumerate(self.redis_cluster_ports):
            alive = self.redis_cluster_alive(n)
            role = roles.get(n, "?") if alive else "down"
            out[f"redis-cluster-{n}"] = f"{port} {role}"
        return out


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_pid(pidfile: Path, sig: int) -> None:
    if not pidfile.exists():
        return
    with contextlib.suppress(ValueError):
        pid = int(pidfile.read_text().strip())
        if _alive(pid):
            os.kill(pid, sig)
            for _ in range(100):
                if not _alive(pid):
                    break
                time.sleep(0.1)
    pidfile.unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=8)
    parser.add_argument(
        "--no-redis-cluster",
        dest="redis_cluster",
        action="store_false",
        help="without the 6-node Redis Cluster (cache, rate limits and timelines then stay "
        "on REDIS_URL)",
    )
    args = parser.parse_args()
    cluster = Cluster.load(args.dir.resolve())
    if args.command == "down":
        cluster.down()
        print("scale: stopped")
        return 0
    if args.command == "status":
        for key, value in cluster.status().items():
            print(f"{key:10} {value}")
        return 0
    cluster.replicas = max(args.replicas, cluster.replicas)
    cluster.pgbouncer_pool_size = args.pool_size
    cluster.up(redis_cluster=args.redis_cluster)
    env = cluster.environment()
    migrate_env = dict(os.environ, DATABASE_URL=cluster.primary_url)
    migrate_env.pop("DATABASE_REPLICA_URLS", None)
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "migrate", "-v", "0"],
        cwd=ROOT, env=migrate_env, check=True,
    )  # fmt: skip
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    cluster.up_workers(args.workers, redis_url)
    for key, value in cluster.status().items():
        print(f"{key:10} {value}")
    print("\n# the app's environment for the scaled setup:")
    for key, value in env.items():
        print(f"export {key}={quote(value, safe=':/@,.')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
