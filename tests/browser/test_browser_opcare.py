"""Opcare in a real browser: login, menu by role, language switch, logout, one session per user."""

from __future__ import annotations

import pytest

from mango_core import __version__
from mango_core.testing.browser import log_in, menu_endpoints

pytestmark = pytest.mark.browser


def test_login_menu_language_logout(new_page):
    page = new_page()
    page.goto("/")
    assert "/login" in page.url
    assert page.locator("h1").inner_text() == "Přihlášení do Opcare"
    log_in(page, "admin@alfa.test")
    assert "Vítejte, Adam Alfa" in page.locator("h1").inner_text()
    admin_menu = menu_endpoints(page)
    assert "core.home" in admin_menu
    assert {"core_staff.users", "core_staff.roles", "core_audit.events", "core_jobs.runs"} <= admin_menu
    assert f"Verze {__version__}" in page.locator("#version-link").inner_text()

    page.click("#language-switcher button[value=en]")
    assert page.locator("h1").inner_text() == "Welcome, Adam Alfa"
    assert page.locator("#main-menu").get_by_text("Home").is_visible()
    page.click("#language-switcher button[value=cs]")
    assert page.locator("h1").inner_text() == "Vítejte, Adam Alfa"

    page.wait_for_load_state("load")  # Bootstrap's dropdown script must be running first
    page.click("#user-menu")
    page.wait_for_selector("#logout", state="visible")
    with page.expect_navigation():
        page.click("#logout")
    assert "/login" in page.url
    assert "Byli jste odhlášeni." in page.content()
    page.goto("/")
    assert "/login" in page.url


def test_menu_shows_only_what_the_role_permits(new_page):
    clerk = new_page()
    log_in(clerk, "clerk@alfa.test")
    admin = new_page()
    log_in(admin, "admin@alfa.test")
    clerk_menu, admin_menu = menu_endpoints(clerk), menu_endpoints(admin)
    # The clerk's role holds only core.jobs.view (in PRG, where the example module is enabled).
    assert clerk_menu == {"core.home", "core_jobs.runs"}
    assert clerk_menu < admin_menu
    clerk.goto("/admin/users")
    assert "Přístup odepřen" in clerk.content()


def test_second_login_ends_the_first_session(new_page):
    first = new_page()
    log_in(first, "admin@beta.test")
    second = new_page()  # a separate browser context: its own cookies
    log_in(second, "admin@beta.test")
    first.reload()
    assert "/login" in first.url
    assert "Byli jste odhlášeni, protože se váš účet přihlásil jinde." in first.content()
    second.reload()
    assert "Vítejte, Bára Beta" in second.locator("h1").inner_text()
