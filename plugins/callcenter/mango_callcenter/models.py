"""Every table of the call centre plugin (``mango_models``), by area."""

from __future__ import annotations

from mango_callcenter.helpdesk.models import MODELS as HELPDESK

MODELS = [*HELPDESK]
