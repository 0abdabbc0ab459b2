import pytest


@pytest.fixture(scope="session")
def mango_test_plugins() -> list[str]:
    return []
