"""Network namespaces for ``bench/workers.py --netns``: each worker on a network of its
own, as on a machine of its own, reaching the services over a veth pair.

Namespace ``i`` gets a veth pair, ``10.231.<i>.1`` on the host's end and ``10.231.<i>.2``
inside. PostgreSQL, Redis and the benchmark's SMTP server and webhook receiver listen on
the host's 127.0.0.1 only, so ``socat`` relays each port twice: inside the namespace from
its own 127.0.0.1 to the host's end of the pair, and on the host from there to 127.0.0.1.
The worker keeps the same URLs, and every byte it exchanges crosses the pair.

Needs root, ``ip`` (iproute2) and ``socat``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Namespaces:
    def __init__(self, count: int, ports: list[int]) -> None:
        if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("socat"):
            raise SystemExit("--netns needs root, ip (iproute2) and socat")
        self.count = count
        self.ports = sorted(set(ports))
        tag = os.getpid() % 100_000
        self.names = [f"spbench{tag}-{i}" for i in range(count)]
        self.veths = [f"spb{tag}h{i}" for i in range(count)]
        self.relays: list[subprocess.Popen] = []

    def wrap(self, i: int, command: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.names[i], *command]

    def __enter__(self) -> Namespaces:
        try:
            for i, (name, host_end) in enumerate(zip(self.names, self.veths, strict=True)):
                inner = f"{host_end[: -1 - len(str(i))]}n{i}"
                host_ip, inner_ip = f"10.231.{i}.1", f"10.231.{i}.2"
                _ip("netns", "add", name)
                _ip("link", "add", host_end, "type", "veth", "peer", "name", inner)
                _ip("link", "set", inner, "netns", name)
                _ip("addr", "add", f"{host_ip}/30", "dev", host_end)
                _ip("link", "set", host_end, "up")
                _ip("netns", "exec", name, "ip", "addr", "add", f"{inner_ip}/30", "dev", inner)
                _ip("netns", "exec", name, "ip", "link", "set", inner, "up")
                _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
                for port in self.ports:
                    self._relay([], f"TCP-LISTEN:{port},bind={host_ip},fork,reuseaddr",
                                f"TCP:127.0.0.1:{port}")  # fmt: skip
                    self._relay(["ip", "netns", "exec", name],
                                f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr",
                                f"TCP:{host_ip}:{port}")  # fmt: skip
        except BaseException:
            self.__exit__()
            raise
        return self

    def _relay(self, prefix: list[str], listen: str, to: str) -> None:
        self.relays.append(
            subprocess.Popen([*prefix, "socat", listen, to], stderr=subprocess.DEVNULL)
        )

    def __exit__(self, *exc) -> None:
        for relay in self.relays:
            relay.terminate()
        for relay in self.relays:
            with contextlib.suppress(subprocess.TimeoutExpired):
                relay.wait(timeout=5)
        for name, host_end in zip(self.names, self.veths, strict=True):
            subprocess.run(["ip", "link", "del", host_end], capture_output=True)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
