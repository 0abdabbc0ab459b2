"""Where the topology graph draws each device: layers by distance from the core, computed here.

A network is mostly a tree with a few redundant uplinks, so a layered drawing reads best: the
core on top, each device one layer below the nearest device that feeds it, devices of a layer
ordered by the mean position of their feeders (few crossing lines), each layer centred. It is
computed in Python so that the page needs no layout library and tests can check it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

H_GAP, V_GAP, MARGIN = 120.0, 110.0, 60.0


@dataclass(frozen=True)
class Layout:
    positions: dict[int, tuple[float, float]]
    depth: dict[int, int]
    width: float
    height: float


def _depths(nodes: list[int], down: Mapping[int, set[int]], up: Mapping[int, set[int]],
            key: Mapping[int, Hashable]) -> dict[int, int]:
    """Shortest distance from a root (a device nothing feeds). A loop nothing feeds from outside
    starts at its first device (by ``key``) as if it were a root, below what is already placed."""
    depth: dict[int, int] = {}

    def walk(starts: list[int], level: int) -> None:
        queue = deque()
        for s in starts:
            depth[s] = level
            queue.append(s)
        while queue:
            node = queue.popleft()
            for nxt in sorted(down.get(node, ()), key=lambda n: key[n]):
                if nxt not in depth:
                    depth[nxt] = depth[node] + 1
                    queue.append(nxt)

    walk([n for n in nodes if not up.get(n)], 0)
    for node in nodes:
        if node not in depth:
            walk([node], 0)
    return depth


def layered_layout(nodes: Iterable[int], edges: Iterable[tuple[int, int]],
                   sort_key: Mapping[int, Hashable] | None = None) -> Layout:
    """Positions (x, y) of ``nodes`` for upstream → downstream ``edges``; ``sort_key`` (e.g. the
    device name) orders the roots and breaks ties, so the drawing is the same on every request."""
    ids = sorted(set(nodes))
    key: dict[int, Hashable] = {n: ((sort_key or {}).get(n, ""), n) for n in ids}
    ids.sort(key=lambda n: key[n])
    present = set(ids)
    down: dict[int, set[int]] = defaultdict(set)
    up: dict[int, set[int]] = defaultdict(set)
    for upstream, downstream in edges:
        if upstream != downstream and upstream in present and downstream in present:
            down[upstream].add(downstream)
            up[downstream].add(upstream)
    depth = _depths(ids, down, up, key)
    layers: dict[int, list[int]] = defaultdict(list)
    for node in ids:
        layers[depth[node]].append(node)
    index: dict[int, float] = {}
    for level in sorted(layers):
        def barycentre(node: int) -> tuple[float, Hashable]:
            feeders = [index[u] for u in up.get(node, ()) if u in index]
            return (sum(feeders) / len(feeders) if feeders else float("inf"), key[node])

        layers[level].sort(key=barycentre)
        for position, node in enumerate(layers[level]):
            index[node] = position
    widest = max((len(layer) for layer in layers.values()), default=0)
    width = 2 * MARGIN + max(widest - 1, 0) * H_GAP
    positions: dict[int, tuple[float, float]] = {}
    for level, layer in layers.items():
        offset = (widest - len(layer)) * H_GAP / 2
        for position, node in enumerate(layer):
            positions[node] = (MARGIN + offset + position * H_GAP, MARGIN + level * V_GAP)
    height = 2 * MARGIN + max(len(layers) - 1, 0) * V_GAP
    return Layout(positions, depth, width, height)
