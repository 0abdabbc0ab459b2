"""Every billing command refuses an unknown location and one without billing, the same way."""

from __future__ import annotations

import pytest

from mango_core.cli import main

COMMANDS = {
    "run": ["run", "--period", "2026-01"],
    "dunning": ["dunning", "--dry-run"],
    "export": ["export", "--period", "2026-01", "--out", "{tmp}/out.zip"],
    "import": ["import", "{tmp}/statement.gpc"],
    "fio-token": ["fio-token", "--account", "1"],
    "sipo export": ["sipo", "export", "--period", "2026-01", "--out", "{tmp}/ZM", "--organisation", "123456",
                    "--payment-code", "01"],
    "sipo import": ["sipo", "import", "{tmp}/statement.gpc"],
    "sipo rejections": ["sipo", "rejections", "{tmp}/statement.gpc"],
    "cdr import": ["cdr", "import", "{tmp}/statement.gpc"],
    "usage rate": ["usage", "rate", "--period", "2026-01"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize(("code", "message"), [
    ("NOPE", "no location with code 'NOPE'"),
    ("kla", "the billing module is not enabled in KLA"),  # any case; Kladno has no modules on
])
def test_location_is_checked_alike(app, world, tmp_path, name, code, message):  # noqa: ANN001
    (tmp_path / "statement.gpc").write_bytes(b"garbage that must never be read as a statement\n")
    args = ["billing", *(a.format(tmp=tmp_path) for a in COMMANDS[name]), "--location", code]
    result = app.test_cli_runner().invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert not (tmp_path / "out.zip").exists() and not (tmp_path / "ZM").exists()
