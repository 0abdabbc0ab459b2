import pytest


@pytest.fixture(scope="session")
def mango_test_plugins() -> list[str]:
    """The suite runs with the example third-party plugin (tests/example_plugin, pip-installed)."""
    return ["example"]
