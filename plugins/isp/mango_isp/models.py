"""Every table of the ISP plugin (``mango_models``), by area."""

from __future__ import annotations

from mango_isp.ipam.models import MODELS as IPAM
from mango_isp.stock.models import MODELS as STOCK
from mango_isp.topology.models import MODELS as TOPOLOGY

MODELS = [*IPAM, *TOPOLOGY, *STOCK]
