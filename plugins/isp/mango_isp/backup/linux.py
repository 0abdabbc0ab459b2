"""Text dump of a Linux router's configuration in its network namespace (for backup and diff).

Addresses, routes (IPv4 and IPv6), permanent neighbours, qdiscs, classes and filters of every
interface, and the nftables ruleset — the state the Linux provisioning driver writes. What the kernel
derives or counts by itself is left out (link-local IPv6 addresses and DAD flags, link state, the
``local`` table, routes of ``proto kernel``, counters: ``tc`` without ``-s``, ``nft -s``), so an
unchanged router gives the same text and no new version. Not restorable: Mango re-provisions a
Linux router from its desired state instead.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

NETNS_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
TIMEOUT = 30
# counters inside otherwise static lines (route expiry, HTB's direct packet count, reference counts)
VOLATILE = re.compile(r" (?:expires \d+sec|direct_packets_stat \d+|refcnt \d+)")


class LinuxDumpError(RuntimeError):
    """The namespace is missing or a command failed (its stderr is in the message)."""


def _run(argv: list[str], netns: str) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except FileNotFoundError:
        raise LinuxDumpError(f"{argv[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise LinuxDumpError(f"`{' '.join(argv)}` did not finish in {TIMEOUT} s") from None
    if proc.returncode != 0:
        raise LinuxDumpError(f"router namespace {netns}: `{' '.join(argv)}` failed: "
                             f"{proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def _links(netns: str) -> list[str]:
    data = json.loads(_run(["ip", "-n", netns, "-j", "link", "show"], netns) or "[]")
    return sorted(item["ifname"] for item in data if item.get("ifname"))


def dump(netns: str) -> str:
    """The router's configuration as text, in a fixed order of sections."""
    if not NETNS_RE.fullmatch(netns or ""):
        raise LinuxDumpError(f"{netns!r} is not a network namespace name")
    if shutil.which("ip") is None:
        raise LinuxDumpError("ip (iproute2) is not installed")
    out = [f"### addresses\n{_addresses(netns)}"]
    sections: list[tuple[str, list[str]]] = [
        ("routes ipv4", ["ip", "-n", netns, "-4", "route", "show", "table", "all"]),
        ("routes ipv6", ["ip", "-n", netns, "-6", "route", "show", "table", "all"]),
        ("neighbours (permanent)", ["ip", "-n", netns, "neigh", "show", "nud", "permanent"]),
    ]
    for link in _links(netns):
        sections += [(f"qdiscs {link}", ["tc", "-n", netns, "qdisc", "show", "dev", link]),
                     (f"classes {link}", ["tc", "-n", netns, "class", "show", "dev", link]),
                     (f"filters {link}", ["tc", "-n", netns, "filter", "show", "dev", link])]
    sections.append(("nftables ruleset", ["ip", "netns", "exec", netns, "nft", "-s", "list", "ruleset"]))
    for title, argv in sections:
        out.append(f"### {title}\n{_stable(_run(argv, netns))}")
    return "\n".join(out)


def _addresses(netns: str) -> str:
    """``<link> mtu N`` and its configured addresses, one a line (no state, no link-local IPv6)."""
    lines = []
    for link in sorted(json.loads(_run(["ip", "-n", netns, "-j", "address", "show"], netns) or "[]"),
                       key=lambda item: item.get("ifname", "")):
        lines.append(f"{link.get('ifname')} mtu {link.get('mtu')}")
        for addr in link.get("addr_info", []):
            if addr.get("family") == "inet6" and addr.get("scope") == "link":
                continue
            lines.append(f"  {addr.get('family')} {addr.get('local')}/{addr.get('prefixlen')} "
                         f"scope {addr.get('scope')}")
    return "\n".join(lines) + ("\n" if lines else "")


def _stable(text: str) -> str:
    """Output without what the kernel keeps by itself: local table, kernel routes, expiry counters."""
    lines = []
    for line in text.splitlines():
        if " table local" in line or " proto kernel " in line or line.startswith(("local ", "broadcast ")):
            continue
        lines.append(VOLATILE.sub("", line.rstrip()))
    return "\n".join(lines) + ("\n" if lines else "")
