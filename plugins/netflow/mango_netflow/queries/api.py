"""The REST API of the data-retention queries: ``/api/v1/netflow-queries``.

The collection is the audit log (GET with ``netflow.retention.audit``). POSTing to it runs a query
(``netflow.retention.query``) through the same service functions as Opcare: the new log row comes
back with the answer in ``result`` (only in that response — answers are not stored). Times are
ISO 8601; one without an offset is UTC.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from mango_core.api.fields import CREATE, Field
from mango_core.api.resources import ApiCall, ApiResource
from mango_isp.times import parse_moment
from mango_netflow.queries import export
from mango_netflow.queries import service as queries
from mango_netflow.queries.models import CHANNELS, KINDS, WHO, QueryLog

TEXT = {"max_length": 60}


def _input(name: str, kind: str = "string", description: str = "", **kw: Any) -> Field:
    return Field(name, kind, description=description, input=CREATE, output=False, nullable=True, **kw)


def _result(log: QueryLog) -> Any:
    return getattr(log, "answer", None)


def _run(call: ApiCall, data: dict[str, Any]) -> QueryLog:
    asker = queries.Asker("api", call.user.email, call.user.id)
    if data["kind"] == WHO:
        if not data.get("at"):
            raise queries.QueryError("Enter a date and time, e.g. 2025-03-01 14:30.", field="at")
        answer, log = queries.ask_who(call.session, asker, data.get("reference"), data.get("ip"),
                                      parse_moment(data["at"], UTC, "at"), data.get("port"))
        log.answer = answer.as_json()
        return log
    for name in ("start", "end"):
        if not data.get(name):
            raise queries.QueryError("Enter a date and time, e.g. 2025-03-01 14:30.", field=name)
    query = queries.flow_query(start=parse_moment(data["start"], UTC, "start"), end=parse_moment(data["end"], UTC, "end"),
                               ip=data.get("ip"), customer_number=data.get("customer_number"), port=data.get("port"),
                               protocol=data.get("protocol"), peer=data.get("peer"), limit=data.get("limit"))
    result, log = queries.ask_flows(call.session, asker, data.get("reference"), query)
    answer: dict[str, Any] = {"count": len(result), "truncated": result.truncated}
    if data.get("format") == "csv":
        answer["csv"] = export.flows_csv(result.flows, export.exporter_names(call.session)).decode("utf-8")
    else:
        answer["flows"] = [{**row, "first": row["first"].isoformat(), "last": row["last"].isoformat()}
                           for row in queries.flow_rows(result.flows)]
    log.answer = answer
    return log


QUERIES = ApiResource(
    name="netflow-queries",
    model=QueryLog,
    title="data-retention queries",
    description=("The audit log of data-retention queries; POST runs a query (who used an address at a time, "
                 "or the flows of an address or a customer in an interval) and logs it. The answer is in "
                 "`result` of the POST's response only."),
    read_permission="netflow.retention.audit",
    write_permission="netflow.retention.query",
    default_sort="-asked_at",
    create=_run,
    errors=(queries.QueryError,),
    fields=(
        Field("kind", enum=KINDS, input=CREATE, required=True, filter=("eq",),
              description="`who`: who used `ip` (and `port`) at `at`; `flows`: flows of `ip` or `customer_number`."),
        Field("reference", input=CREATE, required=True, max_length=200, filter=("eq",),
              description="The reference of the request (the authority's case number)."),
        _input("ip", description="An IPv4 or IPv6 address.", **TEXT),
        _input("port", "integer", minimum=0, maximum=65535),
        _input("at", description="who: the moment, ISO 8601 (UTC without an offset).", max_length=40),
        _input("customer_number", "integer", minimum=1, description="flows: all addresses of the customer."),
        _input("start", description="flows: the start of the interval, ISO 8601.", max_length=40),
        _input("end", description="flows: the end of the interval, ISO 8601.", max_length=40),
        _input("protocol", description="flows: tcp, udp, icmp… or a number.", max_length=10),
        _input("peer", description="flows: the other side's address.", **TEXT),
        _input("limit", "integer", minimum=1, maximum=queries.MAX_LIMIT),
        _input("format", enum=("json", "csv"), description="flows: `csv` puts the CSV for the authority in "
                                                           "`result.csv` instead of `result.flows`."),
        Field("asked_at", "datetime", sort=True, filter=("gte", "lte")),
        Field("channel", enum=CHANNELS, filter=("eq",)),
        Field("user_id", "integer", nullable=True),
        Field("operator"),
        Field("params", "object"),
        Field("result_count", "integer"),
        Field("result", "object", nullable=True, value=_result,
              description="The answer (only in the response to the POST that ran the query)."),
    ),
)
