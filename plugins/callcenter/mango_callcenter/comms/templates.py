"""E-mail and SMS templates per location, rendered by a sandboxed Jinja2 (staff edit them in Opcare).

A template is found by channel and ``code`` (the occasion); a location that has not written one gets
the built-in default in :data:`DEFAULTS`. The sandbox refuses attribute access to internals, and a
render error becomes an ``InvalidValue`` on ``body`` (saving checks that the template renders with
:data:`SAMPLE`, the preview uses it too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_callcenter.comms.models import CHANNELS, EMAIL, SMS, CommTemplate
from mango_core.tenancy.validators import N_, InvalidValue

MAX_BODY = 20_000
MAX_SMS = 612  # four concatenated GSM segments
ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)

# what a template may use, with values for the preview and the check on saving
SAMPLE: dict[str, Any] = {
    "customer": {"name": "Jana Nováková", "number": 1001, "email": "jana@example.cz", "phone": "+420777123456"},
    "company": "Alfa Net s.r.o.",
    "ticket": {"number": 42, "subject": "Nejde internet", "url": "https://portal.example.cz/selfcare/callcenter/42"},
    "text": "Dobrý den, porucha je opravena.",
    "subject": "Porucha opravena",
    "event": {"title": "Plánovaná údržba", "kind": "planned", "starts": "01.12.26 22:00", "ends": "02.12.26 2:00",
              "description": "Krátké výpadky připojení."},
}


@dataclass(frozen=True)
class Default:
    subject: str
    body: str


DEFAULTS: dict[tuple[str, str], Default] = {
    (EMAIL, "notice"): Default("{{ company }}: {{ subject|default('Oznámení') }}",
                               "Dobrý den,\n\n{{ text }}\n\n{{ company }}\n"),
    (SMS, "notice"): Default("", "{{ company }}: {{ text }}"),
    (EMAIL, "ticket_reply"): Default("[#{{ ticket.number }}] {{ ticket.subject }}",
                                     "{{ text }}\n\n-- \n{{ company }}\n"),
    (SMS, "ticket_reply"): Default("", "{{ company }}: odpověděli jsme na váš požadavek #{{ ticket.number }}."),
    # service events: announced (planned works, an outage) and over (event_end)
    (EMAIL, "planned"): Default(
        "Plánované práce: {{ event.title }} – {{ company }}",
        "Dobrý den,\n\nv předstihu vás informujeme o plánovaných pracích, které se dotknou vaší služby.\n\n"
        "{{ event.title }}\nOd: {{ event.starts }}\nDo: {{ event.ends }}\n\n"
        "{% if event.description %}{{ event.description }}\n\n{% endif %}S pozdravem\n{{ company }}\n"),
    (SMS, "planned"): Default("", "{{ company }}: plánované práce {{ event.starts }}–{{ event.ends }}: {{ event.title }}"),
    (EMAIL, "outage"): Default(
        "Výpadek služby: {{ event.title }} – {{ company }}",
        "Dobrý den,\n\nomlouváme se: vaši službu postihl výpadek. Pracujeme na odstranění.\n\n"
        "{{ event.title }}\nOd: {{ event.starts }}\n\n"
        "{% if event.description %}{{ event.description }}\n\n{% endif %}S pozdravem\n{{ company }}\n"),
    (SMS, "outage"): Default("", "{{ company }}: výpadek od {{ event.starts }}: {{ event.title }}. Pracujeme na tom."),
    (EMAIL, "event_end"): Default(
        "Ukončeno: {{ event.title }} – {{ company }}",
        "Dobrý den,\n\nudálost níže skončila. Děkujeme za trpělivost.\n\n{{ event.title }}\n"
        "Od: {{ event.starts }}\nDo: {{ event.ends }}\n\nS pozdravem\n{{ company }}\n"),
    (SMS, "event_end"): Default("", "{{ company }}: ukončeno: {{ event.title }}. Děkujeme za trpělivost."),
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def codes() -> list[str]:
    return sorted({code for _channel, code in DEFAULTS})


def find(session: Session, channel: str, code: str) -> CommTemplate | None:
    return session.scalar(select(CommTemplate).where(CommTemplate.channel == channel, CommTemplate.code == code))


def source(session: Session, channel: str, code: str) -> Default:
    """The location's template, else the default (unknown code: InvalidValue)."""
    row = find(session, channel, code)
    if row is not None:
        return Default(row.subject, row.body)
    if (channel, code) not in DEFAULTS:
        raise InvalidValue(N_("No such template."), field="code")
    return DEFAULTS[(channel, code)]


def _compile(text: str, field: str) -> Template:
    try:
        return ENV.from_string(text)
    except TemplateError as exc:
        raise InvalidValue(N_("The template cannot be rendered: %(error)s"), field=field, error=str(exc)[:200]) from None


def _render(template: Template, context: dict[str, Any], field: str) -> str:
    try:
        return template.render(**context)
    except TemplateError as exc:
        raise InvalidValue(N_("The template cannot be rendered: %(error)s"), field=field, error=str(exc)[:200]) from None


def compile_text(channel: str, subject: str, body: str) -> Callable[[dict[str, Any]], Rendered]:
    """A renderer of the template (compiled once: a mass notice renders it per customer)."""
    subject_tpl = _compile(subject, "subject") if channel == EMAIL else None
    body_tpl = _compile(body, "body")

    def render_one(context: dict[str, Any]) -> Rendered:
        rendered_subject = " ".join(_render(subject_tpl, context, "subject").split()) if subject_tpl else ""
        rendered = _render(body_tpl, context, "body")
        if channel == SMS:
            rendered = " ".join(rendered.split())
            if len(rendered) > MAX_SMS:
                raise InvalidValue(N_("An SMS has at most %(max)d characters."), field="body", max=MAX_SMS)
        return Rendered(rendered_subject[:300], rendered)

    return render_one


def render_text(channel: str, subject: str, body: str, context: dict[str, Any]) -> Rendered:
    return compile_text(channel, subject, body)(context)


def renderer(session: Session, channel: str, code: str) -> Callable[[dict[str, Any]], Rendered]:
    """The location's template of the occasion (or the default), ready to render for many customers."""
    tpl = source(session, channel, code)
    return compile_text(channel, tpl.subject, tpl.body)


def render(session: Session, channel: str, code: str, context: dict[str, Any]) -> Rendered:
    return renderer(session, channel, code)(context)


def save(session: Session, *, channel: object, code: object, subject: object, body: object) -> CommTemplate:
    """Create or replace the location's template; refused (nothing saved) unless it renders with :data:`SAMPLE`."""
    if channel not in CHANNELS:
        raise InvalidValue(N_("Choose one of the offered values."), field="channel")
    code = str(code or "").strip()
    if code not in codes():
        raise InvalidValue(N_("Choose one of the offered values."), field="code")
    subject, body = str(subject or "").strip(), str(body or "")
    if not body.strip():
        raise InvalidValue(N_("This field is required."), field="body")
    if len(body) > MAX_BODY or len(subject) > 300:
        raise InvalidValue(N_("At most %(max)d characters."), field="body", max=MAX_BODY)
    if channel == EMAIL and not subject:
        raise InvalidValue(N_("This field is required."), field="subject")
    render_text(str(channel), subject, body, SAMPLE)
    row = find(session, str(channel), code)
    if row is None:
        row = CommTemplate(channel=channel, code=code)
        session.add(row)
    row.subject, row.body = (subject if channel == EMAIL else ""), body
    session.flush()
    return row
