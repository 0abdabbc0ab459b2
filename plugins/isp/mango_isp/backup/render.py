"""Device configuration from per-device-type Jinja2 templates (``device_templates/<name>.xml.j2``).

Templates run in Jinja2's sandbox with every value XML-escaped and undefined names refused, so a
device parameter can neither break out of its element nor reach Python internals. The context is
plain data: ``hostname``, ``device`` (name, type, parameters), ``interfaces`` (the topology's, with
the device's ``interfaces`` parameter overriding), ``vlans`` and ``subscribers`` (the device's
parameters, or what the caller passes — the provisioning queue passes the subscribers it serves).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

HERE = Path(__file__).resolve().parent / "device_templates"
NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
GENERIC = "generic"

_env = SandboxedEnvironment(loader=FileSystemLoader(str(HERE)), autoescape=True, undefined=StrictUndefined,
                            keep_trailing_newline=True)


class RenderError(ValueError):
    """A template is unknown or cannot render with this device's data."""


def template_names() -> list[str]:
    """The available templates, by name (``generic`` first)."""
    names = sorted(p.name.removesuffix(".xml.j2") for p in HERE.glob("*.xml.j2"))
    return sorted(names, key=lambda n: n != GENERIC)


def template_for(device_type_code: str | None, chosen: str | None = None) -> str:
    """The chosen template, else one named after the device type (``isp.olt`` → ``isp_olt``), else generic."""
    if chosen and chosen != GENERIC:
        return chosen
    by_type = (device_type_code or "").replace(".", "_")
    return by_type if by_type in template_names() else GENERIC


def _hostname(name: str) -> str:
    text = re.sub(r"[^A-Za-z0-9.-]+", "-", name).strip("-.")
    return text[:63] or "device"


def _vlans(value: Any) -> list[dict[str, Any]]:
    """``"10 mgmt, 20 customers"`` or ``[{"id": 10, "name": "mgmt"}]`` → list of dicts."""
    if isinstance(value, list):
        return [dict(v) for v in value]
    found = []
    for part in str(value or "").split(","):
        words = part.split(None, 1)
        if not words:
            continue
        if not words[0].isdigit() or not 1 <= int(words[0]) <= 4094:
            raise RenderError(f"VLAN {words[0]!r} is not a number 1–4094")
        found.append({"id": int(words[0]), "name": words[1].strip() if len(words) > 1 else ""})
    return found


def device_context(device: Any, interfaces: list[Any] = (), /, **extra: Any) -> dict[str, Any]:
    """The template context of a core device and its topology interfaces (``extra`` wins)."""
    params = dict(device.params or {})
    context = {
        "hostname": _hostname(str(params.get("hostname") or device.name)),
        "device": {"name": device.name, "type": device.type_code, "params": params,
                   "management_ip": device.management_ip},
        "interfaces": [{"name": i.name, "description": i.description or "", "enabled": True, "mtu": None,
                        "vlan": None} for i in interfaces],
        "vlans": _vlans(params.get("vlans")),
        "subscribers": list(params.get("subscribers") or []),
    }
    context.update(extra)
    return context


def render(template: str, context: dict[str, Any]) -> str:
    """The configuration XML text of ``template`` with ``context``."""
    if not NAME_RE.fullmatch(template or ""):
        raise RenderError(f"no device template {template!r}")
    try:
        return _env.get_template(f"{template}.xml.j2").render(**context)
    except TemplateNotFound:
        raise RenderError(f"no device template {template!r}") from None
    except TemplateError as exc:
        raise RenderError(f"template {template!r} cannot render: {exc.message}") from None
