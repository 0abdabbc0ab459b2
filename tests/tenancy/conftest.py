import pytest


@pytest.fixture
def module_name(mango) -> str:
    """A licensed plugin loaded in this test run (the example third-party plugin)."""
    if "example" not in mango.plugins.plugins:
        pytest.skip("the example plugin is not loaded")
    return "example"
