"""Every table of the iXpos plugin (``mango_models``), by area."""

from __future__ import annotations

from mango_ixpos.cashdesk.models import MODELS as CASHDESK

MODELS = [*CASHDESK]
