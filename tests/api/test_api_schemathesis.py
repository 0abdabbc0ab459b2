"""Schemathesis against the OpenAPI document, in-process through the Flask WSGI app.

The schemathesis engine (what its command line runs: examples, coverage and fuzzing phases)
sends generated requests to every operation of ``/api/v1/openapi.json`` — valid ones and ones
that break the schema, undocumented methods, missing or wrong credentials. Every answer must be
no server error and must match the document: status code, content type, headers, body schema,
401 without a token, 405 with ``Allow`` for an undocumented method, a 4xx for invalid data.
The data are the two seeded locations; the token is location A's administrator's, so drawn ids
also reach B's objects (which must answer 404).

``positive_data_acceptance`` also allows 422: a body that fits the schema can still break a rule
of the domain (a customer that is not in the location, a service already blocked), which
RFC 9110 answers with 422, not 2xx.

Bounded: the coverage phase is systematic (a fixed set of cases per operation); fuzzing draws a
few examples per operation with no shrinking and a fixed seed, so both backends finish in a few
minutes on two cores. (No ``max-time``: with one, the engine keeps fuzzing until it is spent.)
"""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events

from tests.api.conftest import make_token

MAX_EXAMPLES = 10


@pytest.fixture
def wsgi_transport(monkeypatch):  # noqa: ANN001, ANN201
    """Work around schemathesis 4.32's WSGI transport, which hands the engine's network-only
    arguments (``max_redirects``…) to werkzeug's test client when no ``requests`` session is used."""
    from schemathesis.transport import wsgi

    original = wsgi.WSGITransport.send

    def send(self, case, *, session=None, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        for name in ("max_redirects", "verify", "cert", "proxies"):
            kwargs.pop(name, None)
        return original(self, case, session=session, **kwargs)

    monkeypatch.setattr(wsgi.WSGITransport, "send", send)


def _failures(event: events.ScenarioFinished) -> list[str]:
    found = []
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                case = event.recorder.cases[case_id].value
                found.append(f"{event.recorder.label} [{check.name}] {failure.title}: {failure.message}\n"
                             f"    {case.method} {case.formatted_path} query={case.query} body={case.body!r:.300}")
    return found


def test_every_operation_conforms_to_the_document(app, db, world, seeded, wsgi_transport):  # noqa: ANN001
    token = make_token(db, world.admin_a)
    config = SchemathesisConfig.from_dict({
        "seed": 20261127,
        "headers": {"Authorization": f"Bearer {token}"},
        "generation": {"max-examples": MAX_EXAMPLES, "no-shrink": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"positive_data_acceptance": {
            "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]}},
    })
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    problems: list[str] = []
    operations: set[str] = set()
    finished = None
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            operations.add(event.recorder.label)
            if event.status in (Status.FAILURE, Status.ERROR):
                problems += _failures(event) or [f"{event.recorder.label}: {event.status}"]
        elif isinstance(event, events.NonFatalError):
            problems.append(f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.EngineFinished):
            finished = event
    assert finished is not None and finished.stop_reason == "completed", finished and finished.stop_reason
    assert len(operations) > 40
    assert not problems, "\n".join(problems[:40])
    # every documented operation was exercised
    documented = {f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items()
                  for method in item if method in ("get", "post", "patch", "delete")}
    assert documented <= operations, documented - operations
