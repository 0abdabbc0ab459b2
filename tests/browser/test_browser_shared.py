"""The run's one Chromium comes back when it went away, so one crash fails one test, not all later ones."""

import pytest

pytestmark = pytest.mark.browser


def test_a_closed_browser_is_launched_again(chromium):  # noqa: ANN001
    chromium.close()
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_content("<p id='alive'>ano</p>")
        assert page.inner_text("#alive") == "ano"
    finally:
        context.close()
    assert chromium.is_connected()
