"""A subscriber as last applied to a router, as JSON (``RouterSubscriber.applied``).

The driver's per-subscriber path compares a subscriber's old objects with its new ones; after a
restart the old ones are known only from this snapshot.
"""

from __future__ import annotations

from typing import Any

from mango_isp.provisioning import Block, Neighbour, Network, Shaping, Subscriber


def dump(sub: Subscriber) -> dict[str, Any]:
    shaping = sub.shaping
    return {
        "id": sub.id,
        "interface": sub.interface,
        "networks": [[str(n.prefix), str(n.via) if n.via is not None else None] for n in sub.networks],
        "gateways": [str(g) for g in sub.gateways],
        "neighbours": [[str(n.address), n.mac] for n in sub.neighbours],
        "shaping": None if shaping is None else [shaping.download_kbit, shaping.upload_kbit,
                                                 shaping.download_ceil_kbit, shaping.upload_ceil_kbit],
        "block": sub.block.reason if sub.block is not None else None,
    }


def load(data: dict[str, Any]) -> Subscriber:
    """The subscriber back; :class:`InvalidDesiredState` (or a KeyError/TypeError) for a bad snapshot."""
    shaping = data.get("shaping")
    return Subscriber(
        int(data["id"]), str(data["interface"]),
        networks=tuple(Network(prefix, via) for prefix, via in data.get("networks", [])),
        gateways=tuple(data.get("gateways", [])),
        neighbours=tuple(Neighbour(address, mac) for address, mac in data.get("neighbours", [])),
        shaping=Shaping(*shaping) if shaping else None,
        block=Block(data["block"]) if data.get("block") else None,
    )
