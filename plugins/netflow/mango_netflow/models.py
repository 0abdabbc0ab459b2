"""Every table of the NetFlow plugin (``mango_models``), by area."""

from __future__ import annotations

from mango_netflow.accounting.models import MODELS as ACCOUNTING
from mango_netflow.collector.models import MODELS as COLLECTOR
from mango_netflow.queries.models import MODELS as QUERIES
from mango_netflow.store.models import MODELS as STORE

MODELS = [*COLLECTOR, *STORE, *QUERIES, *ACCOUNTING]
