import pytest
from hypothesis import HealthCheck, settings

# CI shares two cores with PostgreSQL and a browser: time limits would make property tests
# flaky without making them any stricter.
settings.register_profile("mango", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mango")


@pytest.fixture(scope="session")
def mango_test_plugins() -> list[str]:
    """The suite runs with the example third-party plugin (tests/example_plugin, pip-installed)."""
    return ["example"]
