"""Every table of the call centre plugin (``mango_models``), by area."""

from __future__ import annotations

from mango_callcenter.calls.models import MODELS as CALLS
from mango_callcenter.comms.models import MODELS as COMMS
from mango_callcenter.events.models import MODELS as EVENTS
from mango_callcenter.helpdesk.models import MODELS as HELPDESK

MODELS = [*HELPDESK, *COMMS, *EVENTS, *CALLS]
