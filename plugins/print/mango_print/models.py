"""Every table of the Mango Print plugin (``mango_models``), by area."""

from __future__ import annotations

from mango_print.shop.models import MODELS as SHOP

MODELS = [*SHOP]
