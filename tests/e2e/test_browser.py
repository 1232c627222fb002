"""A person's view, in headless Chromium: the payment page from the e-mail's link, the Pay button, the outbox page.

Uses Debian's ``chromium`` and its matching ``chromium-driver`` (installed by ``.ci/setup-browser.sh``) through
Selenium, with a fresh profile and everything that would reach the network turned off.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from local.stack import LocalStack

from .support import Customer, Stack

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1200,900",
]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), "run .ci/setup-browser.sh to install chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def test_a_customer_pays_from_the_emailed_link_and_the_outbox_page_shows_the_email(
    stack: Stack, local_stack: LocalStack, browser: webdriver.Chrome
):
    customer = Customer.new()
    order = stack.create_order(customer, balance="31.50")
    created = stack.create_payment_request(order["id"], title="Deposit for the sofa")
    wait = WebDriverWait(browser, 15)

    # The outbox page shows the e-mail as sent, with the payment link.
    browser.get(f"{local_stack.api_url}/_local/outbox")
    assert "Outbox" in browser.title
    email = next(a for a in browser.find_elements(By.CSS_SELECTOR, "article.email") if "Deposit for the sofa" in a.text)
    link = email.find_element(By.CSS_SELECTOR, f'.links a[href="{created["url"]}"]')
    assert "language en" in email.find_element(By.CSS_SELECTOR, ".meta").text
    email.find_element(By.CSS_SELECTOR, "details.headers summary").click()  # the headers as sent
    shown = email.find_element(By.CSS_SELECTOR, "details.headers").text
    assert "X-SES-MESSAGE-TAGS" in shown and "paymentRequestId=" + created["id"] in shown

    # The customer follows it: title, amount and currency, and a Pay button.
    link.click()
    wait.until(expected_conditions.url_to_be(created["url"]))
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "Deposit for the sofa" in page and "31.50" in page and "USD" in page
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "body"), "Paid"))

    assert stack.wait_for_status(created["id"], "PAID")["paidAt"]


def test_the_stats_page_draws_the_funnel_and_the_recovery_rate(stack: Stack, local_stack: LocalStack, browser: webdriver.Chrome):
    customer = Customer.new()
    created = stack.create_payment_request(stack.create_order(customer, balance="12.00")["id"], amount="12.00")
    stack.sandbox.post(f"/_sandbox/order-payment-requests/{created['id']}/pay")
    stack.wait_for_status(created["id"], "PAID")

    browser.get(f"{local_stack.api_url}/_local/stats")

    assert "What the messages earned" in browser.title
    assert browser.find_element(By.ID, "recovery-rate").text.endswith("%")
    bars = browser.find_elements(By.CSS_SELECTOR, "#by-step svg rect.paid")
    assert bars and any(int(bar.get_attribute("height") or 0) > 0 for bar in bars)
    assert browser.find_elements(By.CSS_SELECTOR, "#by-day svg rect")
