"""A real NETCONF-over-SSH server on loopback for tests and demos: yuma123's ``netconfd`` behind an
OpenSSH ``sshd`` of its own (Debian packages ``netconfd`` and ``openssh-server``).

netconfd offers :candidate, :validate, :confirmed-commit and :rollback-on-error and checks every
edit against the YANG module it loads (``yang/mango-generic-device.yang``, the model of the generic
template). sshd runs the ``netconf`` subsystem on a free port with a fresh host key and accepts one
fresh client key for the current user; everything lives in a private directory removed by ``stop``.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

YANG = Path(__file__).resolve().parent / "yang" / "mango-generic-device.yang"
SSHD = "/usr/sbin/sshd"


def missing() -> str | None:
    """Why the server cannot run here, or None."""
    for tool in ("netconfd", "netconf-subsystem", "ssh-keygen"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is not installed (apt-get install netconfd openssh-server)"
    if not Path(SSHD).exists():
        return "sshd is not installed (apt-get install openssh-server)"
    if os.geteuid() != 0:
        return "sshd can run the netconf subsystem for the logged-in user only as root"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(check, what: str, proc: subprocess.Popen, log: Path, timeout: float = 15) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"{what} did not start: {text}")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class NetconfServer:
    """``with NetconfServer() as server:`` — ``server.port``, ``server.username``, ``server.private_key``."""

    def __init__(self, yang: Path = YANG) -> None:
        self.yang = yang
        self.dir = Path(tempfile.mkdtemp(prefix="mango-netconfd-"))
        self.port = _free_port()
        self.username = getpass.getuser()
        self.host_key = ""
        self.private_key = ""
        self._procs: list[subprocess.Popen] = []

    def start(self) -> NetconfServer:
        d = self.dir
        os.chmod(d, 0o700)
        for name in ("host", "client"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(d / name)],
                           check=True, capture_output=True)
        (d / "authorized_keys").write_text((d / "client.pub").read_text())
        self.private_key = (d / "client").read_text()
        self.host_key = (d / "host.pub").read_text().split()[1]
        sock = d / "ncx.sock"
        (d / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\nPidFile {d / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {d / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            f"Subsystem netconf /usr/sbin/netconf-subsystem --ncxserver-sockname={self.port}@{sock}\n")
        env = {**os.environ, "HOME": str(d)}  # netconfd keeps its files under $HOME/.yuma
        nlog = d / "netconfd.log"
        netconfd = subprocess.Popen(
            ["netconfd", f"--module={self.yang}", f"--ncxserver-sockname={sock}", "--no-startup",
             f"--superuser={self.username}", "--access-control=off", "--target=candidate", f"--port={self.port}",
             f"--log={nlog}", "--log-level=info"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env, cwd=d)
        self._procs.append(netconfd)
        _wait(sock.exists, "netconfd", netconfd, nlog)
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
        slog = d / "sshd.log"
        sshd = subprocess.Popen([SSHD, "-D", "-f", str(d / "sshd_config"), "-E", str(slog)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=d)
        self._procs.append(sshd)
        _wait(lambda: _listening(self.port), "sshd", sshd, slog)
        return self

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> NetconfServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
