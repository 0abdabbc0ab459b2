"""Settings of the whole repository's suite (tests/ and every plugins/*/tests).

One list of plugins for the whole session: the app fixture is session-scoped, so every test
directory must see the same installation.
"""

import pytest
from hypothesis import HealthCheck, settings

# CI shares two cores with PostgreSQL and a browser: time limits would make property tests
# flaky without making them any stricter.
settings.register_profile("mango", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mango")


@pytest.fixture(scope="session")
def mango_test_plugins() -> list[str]:
    """The repository's plugins plus the example third-party one (tests/example_plugin, pip-installed)."""
    return ["example", "billing", "callcenter", "isp", "ixpos", "netflow", "print"]
