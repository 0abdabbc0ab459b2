"""Blocking with nftables: two interval sets of blocked networks and a handful of fixed rules.

Why nftables: a set lookup is O(1) per packet however many subscribers are blocked (ip rules are
a linear list, and this kernel has no tc ``gact``/``police`` to drop in tc), one set element is one
change, both directions and both families are covered, and only netfilter can redirect (DNAT) web
requests to the Selfcare notice. The rules live in their own ``inet`` table, so an operator's own
firewall is untouched; the forward hook runs before their default-priority chains. Elements carry
the block's reason as their comment (``nft list set inet mango blocked4`` shows who and why).

The kernel side of nftables is reached through the ``nft`` program (package ``nftables``), run in the
router's namespace: pyroute2's nftables support is partial. One ``nft -f`` per apply makes every
block/unblock of a batch one atomic transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from ipaddress import ip_network

from mango_isp.provisioning.state import BlockPolicy, IPNetwork

MARKER = "mango-rules "
_COMMENT_BAD = re.compile(r'["\\\x00-\x1f\x7f]')


def sanitize_comment(reason: str) -> str:
    """The reason as an nft comment: no quotes/backslashes/control characters, at most 100 bytes."""
    text = _COMMENT_BAD.sub("'", " ".join(str(reason).split()))
    data = text.encode()[:100]
    return data.decode(errors="ignore")


def _set(version: int) -> str:
    return "blocked4" if version == 4 else "blocked6"


def _elements(nets) -> str:  # noqa: ANN001
    return "{ " + ", ".join(str(n) for n in nets) + " }"


def rules_script(table: str, policy: BlockPolicy) -> str:
    """The table's chains and rules (sets excluded: their elements survive a rule change)."""
    t = f"inet {table}"
    forward, prerouting = [], []
    for version, ip, icmp in ((4, "ip", "icmp"), (6, "ip6", "icmpv6")):
        blocked = "@" + _set(version)
        allowed = policy.allowed_networks(version)
        if allowed:
            forward.append(f"{ip} saddr {blocked} {ip} daddr {_elements(allowed)} accept")
            forward.append(f"{ip} daddr {blocked} {ip} saddr {_elements(allowed)} accept")
        forward.append(f"{ip} saddr {blocked} reject with {icmp} admin-prohibited")
        forward.append(f"{ip} daddr {blocked} drop")
        notice = policy.notice_ipv4 if version == 4 else policy.notice_ipv6
        if notice is not None:
            target = f"{notice}:{policy.notice_port}" if version == 4 else f"[{notice}]:{policy.notice_port}"
            prerouting.append(f"{ip} saddr {blocked} {ip} daddr != {_elements(allowed)} tcp dport 80 "
                              f"dnat {ip} to {target}")
    lines = [f"add chain {t} forward {{ type filter hook forward priority -10; policy accept; }}",
             f"add chain {t} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}",
             f"flush chain {t} forward", f"flush chain {t} prerouting"]
    lines += [f"add rule {t} forward {r}" for r in forward]
    lines += [f"add rule {t} prerouting {r}" for r in prerouting]
    return "\n".join(lines)


def rules_digest(script: str) -> str:
    return hashlib.sha256(script.encode()).hexdigest()[:16]


def table_script(table: str, digest: str, rules: str) -> str:
    """(Re)build the table's rules; the digest rides on a no-op counter rule so a read can compare it."""
    t = f"inet {table}"
    return "\n".join([
        f"add table {t}",
        f"add set {t} blocked4 {{ type ipv4_addr; flags interval; }}",
        f"add set {t} blocked6 {{ type ipv6_addr; flags interval; }}",
        rules,
        f'add rule {t} forward counter comment "{MARKER}{digest}"',
    ])


def delete_table_script(table: str) -> str:
    return f"delete table inet {table}"


def element_script(table: str, action: str, prefix: IPNetwork, comment: str | None = None) -> str:
    body = str(prefix) + (f' comment "{comment}"' if comment is not None else "")
    return f"{action} element inet {table} {_set(prefix.version)} {{ {body} }}"


class NftError(Exception):
    """``nft`` failed; the message is its own error output."""


class Nft:
    """Runs ``nft`` inside the router's namespace."""

    def __init__(self, netns: str | None) -> None:
        self.netns = netns

    def _argv(self, *args: str) -> list[str]:
        if shutil.which("nft") is None:
            raise NftError("the nft program is not installed (Debian package nftables); blocking needs it")
        base = ["nft", *args]
        return ["ip", "netns", "exec", self.netns, *base] if self.netns else base

    def run_script(self, script: str) -> None:
        proc = subprocess.run(self._argv("-f", "-"), input=script, capture_output=True, text=True,
                              timeout=120, check=False)
        if proc.returncode != 0:
            raise NftError(proc.stderr.strip() or f"nft exited with {proc.returncode}")

    def read_table(self, table: str) -> tuple[str | None, dict[IPNetwork, str]] | None:
        """(rules digest or None, blocked networks -> comment), or None when the table does not exist."""
        proc = subprocess.run(self._argv("-j", "list", "table", "inet", table), capture_output=True,
                              text=True, timeout=120, check=False)
        if proc.returncode != 0:
            if "No such file or directory" in proc.stderr:
                return None
            raise NftError(proc.stderr.strip() or f"nft exited with {proc.returncode}")
        return parse_table(json.loads(proc.stdout))


def parse_table(doc: dict) -> tuple[str | None, dict[IPNetwork, str]]:
    digest = None
    elements: dict[IPNetwork, str] = {}
    for item in doc.get("nftables", []):
        if "rule" in item:
            comment = item["rule"].get("comment") or ""
            if comment.startswith(MARKER):
                digest = comment[len(MARKER):]
        elif "set" in item and item["set"].get("name") in ("blocked4", "blocked6"):
            for elem in item["set"].get("elem", []):
                comment = ""
                if isinstance(elem, dict) and "elem" in elem:
                    comment = elem["elem"].get("comment", "")
                    elem = elem["elem"]["val"]
                net = _element_network(elem)
                if net is not None:
                    elements[net] = comment
    return digest, elements


def _element_network(value) -> IPNetwork | None:  # noqa: ANN001
    if isinstance(value, str):
        return ip_network(value)
    if isinstance(value, dict) and "prefix" in value:
        return ip_network(f"{value['prefix']['addr']}/{value['prefix']['len']}")
    return None
