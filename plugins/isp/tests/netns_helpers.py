"""Real network namespaces for the Linux provisioning tests and the benchmark.

A :class:`Topology` builds, under names unique to the run, a router namespace with a subscriber-facing
interface ``sub0`` (behind a bridge in a "switch" namespace that the subscribers' namespaces hang off)
and an uplink ``up0`` to an "outside" namespace (an Internet host and the Selfcare notice server).
``close()`` kills what was started inside and deletes every namespace, also after a failure.

Addresses are documentation/shared ranges that live only inside these namespaces.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

OUTSIDE4 = "198.51.100.10"
NOTICE4 = "198.51.100.80"
OUTSIDE6 = "2001:db8:ff::10"
NOTICE6 = "2001:db8:ff::80"
GATEWAY4 = "100.64.0.1/24"
GATEWAY6 = "2001:db8:64::1/64"


def skip_reason() -> str | None:
    """Why namespace tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None or shutil.which("tc") is None:
        return "needs iproute2 (ip, tc)"
    name = f"mgprobe{uuid.uuid4().hex[:8]}"
    proc = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return f"`ip netns add` is not available here: {proc.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    return None


def sh(*argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def mac_of(n: int) -> str:
    return f"02:00:00:00:00:{n:02x}"


class Topology:
    """router <-> switch <-> subscribers; router <-> outside. ``subscribers`` are host numbers (.11, .12)."""

    def __init__(self, subscribers: tuple[int, ...] = (11, 12), *, router_only: bool = False) -> None:
        tag = uuid.uuid4().hex[:6]
        self.router = f"mg{tag}r"
        self.switch = f"mg{tag}w"
        self.outside = f"mg{tag}o"
        self.subs = {n: f"mg{tag}s{n}" for n in subscribers}
        self.namespaces: list[str] = []
        self.processes: list[subprocess.Popen] = []
        try:
            self._build(router_only)
        except BaseException:
            self.close()
            raise

    def _ns(self, name: str) -> None:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        for key in ("all", "default"):
            self.sysctl(name, f"net.ipv6.conf.{key}.accept_dad", "0")
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def sysctl(self, ns: str, key: str, value: str) -> None:
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"{key}={value}")

    def _build(self, router_only: bool) -> None:
        self._ns(self.router)
        self.sysctl(self.router, "net.ipv4.ip_forward", "1")
        self.sysctl(self.router, "net.ipv6.conf.all.forwarding", "1")
        if router_only:  # just the subscriber-facing interface (the benchmark)
            sh("ip", "-n", self.router, "link", "add", "sub0", "type", "veth", "peer", "name", "sub0p")
            sh("ip", "-n", self.router, "link", "set", "sub0p", "up")
            sh("ip", "-n", self.router, "link", "set", "sub0", "up")
            return
        self._ns(self.switch)
        self._ns(self.outside)
        sh("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.switch, "link", "set", "br0", "up")
        self._veth(self.router, "sub0", self.switch, "r")
        self._veth(self.router, "up0", self.outside, "eth0")
        for addr in ("198.51.100.1/24", "2001:db8:ff::1/64"):
            sh("ip", "-n", self.router, "addr", "add", addr, "dev", "up0")
        for addr in (f"{OUTSIDE4}/24", f"{NOTICE4}/24", f"{OUTSIDE6}/64", f"{NOTICE6}/64"):
            sh("ip", "-n", self.outside, "addr", "add", addr, "dev", "eth0")
        for route in (["100.64.0.0/16", "via", "198.51.100.1"], ["-6", "2001:db8:64::/48", "via", "2001:db8:ff::1"],
                      ["-6", "2001:db8:100::/40", "via", "2001:db8:ff::1"]):
            family = [route.pop(0)] if route[0] == "-6" else []
            sh("ip", *family, "-n", self.outside, "route", "add", *route)
        for n, ns in self.subs.items():
            self._ns(ns)
            self._veth(ns, "eth0", self.switch, f"s{n}", mac=mac_of(n))
            sh("ip", "-n", ns, "addr", "add", f"100.64.0.{n}/24", "dev", "eth0")
            sh("ip", "-n", ns, "addr", "add", f"2001:db8:64::{n:x}/64", "dev", "eth0")
            sh("ip", "-n", ns, "route", "add", "default", "via", "100.64.0.1")
            sh("ip", "-6", "-n", ns, "route", "add", "default", "via", "2001:db8:64::1")

    def _veth(self, ns_a: str, name_a: str, ns_b: str, name_b: str, *, mac: str | None = None) -> None:
        extra = ["address", mac] if mac else []
        sh("ip", "-n", ns_a, "link", "add", name_a, *extra, "type", "veth", "peer", "name", name_b, "netns", ns_b)
        sh("ip", "-n", ns_a, "link", "set", name_a, "up")
        sh("ip", "-n", ns_b, "link", "set", name_b, "up")
        if ns_b == self.switch:
            sh("ip", "-n", ns_b, "link", "set", name_b, "master", "br0")

    def close(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        self.processes.clear()
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        self.namespaces.clear()

    # --- looking and talking ----------------------------------------------------------------

    def ip(self, *args: str, ns: str | None = None) -> str:
        return sh("ip", "-n", ns or self.router, *args).stdout

    def tc(self, *args: str, ns: str | None = None) -> str:
        return sh("tc", "-n", ns or self.router, *args).stdout

    def icmp(self, ns: str, target: str, timeout: float = 1.0) -> str:
        """One ICMP echo from ``ns``: "reply", "unreachable <code>" or "timeout" (no ping binary needed)."""
        proc = sh("ip", "netns", "exec", ns, sys.executable, "-c", PING, target, str(timeout), check=False)
        return proc.stdout.strip() or f"error: {proc.stderr.strip()[-300:]}"

    def ping(self, ns: str, target: str, tries: int = 3) -> bool:
        """Reachable: one of ``tries`` echoes is answered (the first may wait for ARP/ND)."""
        return any(self.icmp(ns, target) == "reply" for _ in range(tries))

    def start(self, ns: str, code: str, *args: str) -> subprocess.Popen:
        """Run Python ``code`` inside ``ns``; it must print one line when it is ready."""
        proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(proc)
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("ready"):
            proc.kill()
            raise AssertionError(f"helper in {ns} did not start: {line} {proc.stderr.read() if proc.stderr else ''}")
        return proc

    def http_server(self, ns: str, address: str, body: str) -> subprocess.Popen:
        return self.start(ns, HTTP_SERVER, address, body)

    def http_get(self, ns: str, url: str) -> str:
        proc = sh("ip", "netns", "exec", ns, sys.executable, "-c", HTTP_GET, url, check=False, timeout=20)
        return proc.stdout.strip() or f"error: {proc.stderr.strip()[-200:]}"

    def throughput(self, sender_ns: str, receiver_ns: str, receiver_addr: str, seconds: float = 2.0) -> float:
        """Bits per second of one TCP stream from ``sender_ns`` to ``receiver_addr`` (in ``receiver_ns``)."""
        receiver = self.start(receiver_ns, RECEIVER, receiver_addr, "5201", str(seconds))
        sender = subprocess.Popen(["ip", "netns", "exec", sender_ns, sys.executable, "-c", SENDER, receiver_addr,
                                   "5201", str(seconds + 3)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
        self.processes.append(sender)
        out, err = receiver.communicate(timeout=seconds + 20)
        sender.wait(timeout=seconds + 20)
        try:
            result = json.loads(out.strip().splitlines()[-1])
        except (IndexError, ValueError):
            raise AssertionError(f"no throughput measured: {out!r} {err!r}") from None
        return result["bytes"] * 8 / result["seconds"]


PING = r"""
import os, socket, struct, sys, time
target, timeout = sys.argv[1], float(sys.argv[2])
v6 = ":" in target
if v6:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    request, reply, unreach = 128, 129, 1
else:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    request, reply, unreach = 8, 0, 3
ident, seq = os.getpid() & 0xFFFF, 1
payload = b"mango-ping-" + str(time.time()).encode()
def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF
packet = struct.pack("!BBHHH", request, 0, 0, ident, seq) + payload
if not v6:  # the kernel fills in the ICMPv6 checksum itself
    packet = struct.pack("!BBHHH", request, 0, checksum(packet), ident, seq) + payload
sock.sendto(packet, (target, 0))
end = time.monotonic() + timeout
while True:
    left = end - time.monotonic()
    if left <= 0:
        print("timeout"); break
    sock.settimeout(left)
    try:
        data = sock.recv(2048)
    except socket.timeout:
        print("timeout"); break
    if not v6:
        data = data[(data[0] & 0x0F) * 4:]
    kind, code = data[0], data[1]
    if kind == reply and struct.unpack("!HH", data[4:8]) == (ident, seq):
        print("reply"); break
    if kind == unreach and payload[:16] in data:
        print(f"unreachable {code}"); break
"""

HTTP_SERVER = r"""
import http.server, sys
address, body = sys.argv[1], sys.argv[2].encode()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
cls = http.server.HTTPServer
if ":" in address:
    import socket
    class V6(http.server.HTTPServer):
        address_family = socket.AF_INET6
    cls = V6
server = cls((address, 80), Handler)
print("ready", flush=True)
server.timeout = 1
import time
end = time.monotonic() + 120
while time.monotonic() < end:
    server.handle_request()
"""

HTTP_GET = r"""
import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())
except Exception as exc:
    print(f"error: {type(exc).__name__}")
"""

RECEIVER = r"""
import json, socket, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
srv = socket.socket(family, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port)); srv.listen(1); srv.settimeout(15)
print("ready", flush=True)
conn, _ = srv.accept(); conn.settimeout(10)
total, first = 0, None
while True:
    data = conn.recv(65536)
    if not data:
        break
    now = time.monotonic()
    if first is None:
        first = now
    else:
        total += len(data)
    if now - first >= seconds:
        break
print(json.dumps({"bytes": total, "seconds": time.monotonic() - first}), flush=True)
conn.close()
"""

SENDER = r"""
import socket, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((host, port), timeout=10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
chunk = b"x" * 16384
end = time.monotonic() + seconds
try:
    while time.monotonic() < end:
        s.sendall(chunk)
except OSError:
    pass
"""


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.1) -> bool:  # noqa: ANN001
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
