"""Every table of the ISP plugin (``mango_models``), by area."""

from __future__ import annotations

from mango_isp.backup.models import MODELS as BACKUP
from mango_isp.ipam.models import MODELS as IPAM
from mango_isp.monitoring.models import MODELS as MONITORING
from mango_isp.queue.models import MODELS as QUEUE
from mango_isp.stock.models import MODELS as STOCK
from mango_isp.topology.models import MODELS as TOPOLOGY

MODELS = [*IPAM, *TOPOLOGY, *STOCK, *QUEUE, *BACKUP, *MONITORING]
