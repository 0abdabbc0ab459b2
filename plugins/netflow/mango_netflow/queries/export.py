"""The CSV handed to an authority: one line per flow, columns documented in ``queries/README.md``.

RFC 4180: comma-separated, double quotes where needed, CRLF line ends, UTF-8 without BOM, a header
line. Times are UTC in ISO 8601 with milliseconds and ``Z``; empty = absent (no NAT).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_netflow.collector.models import Exporter
from mango_netflow.queries.service import PROTOCOL_NAMES, flow_rows

COLUMNS = ("first_seen_utc", "last_seen_utc", "protocol", "protocol_name", "src_address", "src_port",
           "dst_address", "dst_port", "nat_src_address", "nat_src_port", "nat_dst_address", "nat_dst_port",
           "bytes", "packets", "sampling", "exporter_id", "exporter_name")


def _utc(moment) -> str:  # noqa: ANN001
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _blank(value) -> str:  # noqa: ANN001
    return "" if value is None else str(value)


def exporter_names(session: Session) -> dict[int, str]:
    """The names of the current location's exporters, by id (for :func:`flows_csv`)."""
    return {exporter_id: name for exporter_id, name in session.execute(select(Exporter.id, Exporter.name))}


def flows_csv(flows: np.ndarray, names: Mapping[int, str] | None = None) -> bytes:
    """The CSV of ``flows`` (STORED_DTYPE), exporters named by ``names``; ``bytes`` and ``packets`` × sampling."""
    names = names or {}
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in flow_rows(flows):
        sampling = max(row["sampling"], 1)
        writer.writerow([_utc(row["first"]), _utc(row["last"]), row["protocol"],
                         PROTOCOL_NAMES.get(row["protocol"], ""), row["src"], row["sport"], row["dst"], row["dport"],
                         row["nat_src"], _blank(row["nat_sport"]), row["nat_dst"], _blank(row["nat_dport"]),
                         row["bytes"], row["packets"] * sampling, row["sampling"], row["exporter_id"],
                         names.get(row["exporter_id"], "")])
    return out.getvalue().encode("utf-8")


def filename(reference: str, log_id: int) -> str:
    """``flows-<reference>-<log id>.csv`` with only safe characters."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in reference)[:60]
    return f"flows-{safe}-{log_id}.csv"
