"""Helpers for Playwright tests of Opcare."""

from __future__ import annotations

from mango_core.testing.fixtures import PASSWORD


def log_in(page, email: str, password: str = PASSWORD) -> None:  # noqa: ANN001
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#main-menu")
    # the page's scripts (mango.js submits the location switch) must be loaded before a test acts
    page.wait_for_load_state("load")


def menu_endpoints(page) -> set[str]:  # noqa: ANN001
    return set(page.eval_on_selector_all("#main-menu a[data-menu]", "els => els.map(e => e.dataset.menu)"))
