"""Apps, users and groups in the dashboard, end to end in headless Chromium: the admin registers
an app, creates a secret and reads it once on the page (it authenticates the app at the token
endpoint, and is gone after a reload), creates a user, disables them, creates a group with them
in it; the auditor sees all of it without a single write control.
"""

import uuid

import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from chromium import present, wait_until
from dashboard_browser import fill, flash, go, heading, screenshot, sign_in_to_dashboard, submit


def _unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _message_starting(prefix):
    """A wait condition: the next page's message starts with `prefix` (the previous page's
    message element goes stale while the browser navigates: not yet)."""

    def condition(driver):
        try:
            return flash(driver).startswith(prefix)
        except StaleElementReferenceException:
            return False

    return condition


def test_an_admin_registers_an_app_and_reads_its_secret_once(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    sign_in_to_dashboard(d, dev, path="/dashboard/apps")
    assert heading(d) == "Apps"
    screenshot(d, "apps")
    name = _unique("Browser worker")
    fill(d, "#app-name", name)
    submit(d, "form.create-app")
    wait_until(d, _message_starting("Registered"), "the app's page after registering")
    client_id = d.current_url.rstrip("/").split("/")[-1]
    assert client_id in d.page_source

    # An app role of the demo API, so the client-credentials token below has something to carry.
    role = dev["api"]["app_roles"][0]
    Select(d.find_element(By.CSS_SELECTOR, "#grant-role")).select_by_value(f"{dev['api']['app_id']}/{role}")
    submit(d, "form[action$='/grants']")
    wait_until(d, _message_starting("Granted"), "the grant's message")

    fill(d, "#secret-name", "browser-test")
    submit(d, "form.new-secret")
    wait_until(d, lambda x: present(x, "#secret-value"), "the page showing the new secret")
    assert "will not be shown again" in d.page_source
    secret = d.find_element(By.CSS_SELECTOR, "#secret-value").get_attribute("value")
    assert len(secret) >= 20
    screenshot(d, "app-secret-created")

    token = requests.post(
        dev["token_endpoint"],
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": f"{dev['api']['app_id_uri']}/.default",
        },
        verify=dev["ca_cert"],
        timeout=10,
    )
    assert token.status_code == 200, token.text
    assert token.json()["access_token"]

    d.find_element(By.CSS_SELECTOR, "section.card a.button.primary").click()
    wait_until(d, lambda x: present(x, "#secrets"), "the app's page again")
    d.refresh()
    wait_until(d, lambda x: present(x, "#secrets"), "the app's page reloaded")
    assert secret not in d.page_source, "the secret is never shown again"
    assert "browser-test" in d.find_element(By.CSS_SELECTOR, "#secrets").text
    assert role in d.find_element(By.CSS_SELECTOR, "#grants").text
    screenshot(d, "app-detail")


def test_an_admin_creates_disables_and_groups_a_user(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    domain = dev["admin_user"]["username"].split("@")[1]
    upn = f"{_unique('browser')}@{domain}"
    sign_in_to_dashboard(d, dev, path="/dashboard/users")
    fill(d, "#user-upn", upn)
    fill(d, "#user-name", "Browser Person")
    fill(d, "#user-password", "a long enough password 7!")
    submit(d, "form.create-user")
    wait_until(d, _message_starting("Created"), "the user's page after creating")
    assert "a long enough password" not in d.page_source
    submit(d, "form[action$='/disable']")
    wait_until(d, _message_starting("Disabled"), "the disable message")
    assert present(d, "form[action$='/enable']")
    screenshot(d, "user-detail")
    go(d, dev, "/dashboard/users")
    assert upn in d.find_element(By.CSS_SELECTOR, "table").text
    screenshot(d, "users")

    go(d, dev, "/dashboard/groups")
    group = _unique("Browser group")
    fill(d, "#group-name", group)
    submit(d, "form.create-group")
    wait_until(d, _message_starting("Created the group"), "the group's page")
    fill(d, "#member-user", upn)
    submit(d, "form[action$='/members']")
    wait_until(d, _message_starting("Added"), "the member's message")
    assert upn in d.find_element(By.CSS_SELECTOR, "#members").text
    screenshot(d, "group-detail")
    go(d, dev, "/dashboard/groups")
    assert group in d.find_element(By.CSS_SELECTOR, "table").text
    screenshot(d, "groups")


def test_the_auditor_sees_apps_users_and_groups_without_write_controls(dashboard_driver, dashboard_dev):
    d, dev = dashboard_driver, dashboard_dev
    sign_in_to_dashboard(d, dev, who="auditor_user", path="/dashboard/apps")
    assert present(d, "table"), "the auditor sees the apps"
    screenshot(d, "apps-auditor")

    def write_forms():
        return [
            f.get_attribute("action")
            for f in d.find_elements(By.CSS_SELECTOR, "main form")
        ]

    assert write_forms() == []
    d.find_element(By.CSS_SELECTOR, "table tbody a").click()
    wait_until(d, lambda x: present(x, "#secrets"), "an app's page")
    assert write_forms() == [], "no create, delete or secret controls for the auditor"
    for path in ("/dashboard/users", "/dashboard/groups"):
        go(d, dev, path)
        assert write_forms() == [], path
    go(d, dev, "/dashboard/users")
    d.find_element(By.CSS_SELECTOR, "table tbody a").click()
    wait_until(d, lambda x: present(x, "#profile"), "a user's page")
    assert write_forms() == []
