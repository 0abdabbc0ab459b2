"""Issue 3 in a real browser: a customer's Internet service through its whole life, the
history with its author, and a contract PDF archived and downloaded."""

from __future__ import annotations

from datetime import date

import pytest

from mango_core.testing.browser import log_in

pytestmark = pytest.mark.browser


def first_of_next_month(today: date) -> date:
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


def submit(page, form_id: str) -> None:  # noqa: ANN001
    page.once("dialog", lambda dialog: dialog.accept())  # data-confirm asks first
    with page.expect_navigation():
        page.click(f"#{form_id} button[type=submit]")


def test_customer_service_lifecycle_history_and_contract(new_page):
    page = new_page()
    log_in(page, "admin@alfa.test")
    with page.expect_navigation():
        page.select_option("#location_id", label="PRG – Praha")

    # a new customer
    page.goto("/customers/new")
    page.fill("#customer-form [name=first_name]", "Karolína")
    page.fill("#customer-form [name=last_name]", "Světlá")
    with page.expect_navigation():
        page.click("#customer-form button[type=submit]")
    assert "Karolína Světlá" in page.locator("h1").inner_text()
    card_url = page.url.split("?")[0]

    # an Internet service, activated at once
    page.goto(card_url + "?tab=services")
    with page.expect_navigation():
        page.click("#service-new")
    with page.expect_navigation():
        page.click("#service-products a:has-text('Internet Standard 250')")
    assert page.input_value("#service-form [name=p-download]") == "250"  # the tariff's speeds
    with page.expect_navigation():
        page.click("#service-form button[type=submit]")
    assert "Aktivní" in page.locator("#service-header").inner_text()
    service_url = page.url

    # block, then unblock
    page.select_option("#block-form [name=block-kind]", "manual")
    page.fill("#block-form [name=block-reason]", "Porucha u zákazníka")
    submit(page, "block-form")
    assert "Blokována" in page.locator("#service-header").inner_text()
    page.select_option("#unblock-form [name=unblock-kind]", "manual")
    submit(page, "unblock-form")
    assert "Aktivní" in page.locator("#service-header").inner_text()

    # a tariff change from the first day of next month: scheduled, not applied yet
    next_month = first_of_next_month(date.today())
    page.select_option("#product-form [name=product-product_id]", label="NET1000 Internet Optika 1000")
    page.fill("#product-form [name=product-effective]", next_month.isoformat())
    submit(page, "product-form")
    scheduled = page.locator("#scheduled-changes").inner_text()
    assert "Internet Optika 1000" in scheduled or "product" in scheduled.lower()
    assert "Internet Standard 250" in page.locator("#service-info").inner_text()

    # terminate at the end of the month after
    end = first_of_next_month(next_month)
    page.fill("#terminate-form [name=terminate-effective]", end.isoformat())
    page.fill("#terminate-form [name=terminate-reason]", "Stěhování")
    submit(page, "terminate-form")
    assert page.url == service_url

    # the history tab: each step, by its author
    page.goto(card_url + "?tab=history")
    rows = page.eval_on_selector_all(
        "tr[data-action]", "els => els.map(e => [e.dataset.action, e.cells[2].innerText.trim(), e.innerText])")
    actions = [action for action, _who, _text in rows]
    assert {"created", "activated", "blocked", "unblocked"} <= set(actions), actions
    scheduled = [text for action, _who, text in rows if action == "change_scheduled"]
    assert len(scheduled) >= 2, rows  # the tariff change and the termination, both still ahead
    assert all(who == "Adam Alfa" for _action, who, _text in rows), rows

    # a contract: generated, archived, listed and downloadable as a PDF
    page.goto(card_url + "?tab=documents")
    page.select_option("#document-generate [name=template]", index=0)
    with page.expect_navigation():
        page.click("#document-generate-submit")
    link = page.locator("#documents a.document-download").first
    with page.expect_download() as download:
        link.click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
