"""Reading stored flows (INTERFACE — implemented by the store's author).

``flows(session, location_id, start, end, ...)`` returns the flows of a location whose time span
[first, last] meets [start, end] (aware datetimes), as one array of
:data:`~mango_netflow.flows.STORED_DTYPE`, ordered by ``first``. Optional filters: ``address``
(matches src, dst, nat_src or nat_dst), ``port`` (matches sport, dport, nat_sport or nat_dport,
with ``address`` the port on that address's side), ``exporter_id``; ``limit`` caps the rows.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

Address = str | ipaddress.IPv4Address | ipaddress.IPv6Address


def flows(session: Session, location_id: int, start: datetime, end: datetime, *,
          address: Address | None = None, port: int | None = None, exporter_id: int | None = None,
          limit: int | None = None) -> np.ndarray:
    raise NotImplementedError("store reader not written yet")
