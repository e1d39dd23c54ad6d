"""End to end in a real browser: a moderator hides a reported recognition from the admin queue,
and the recognition leaves the feed of the API.

Headless Chromium from the Debian packages (`./scripts/test` installs them), driven by Playwright
against pytest-django's live server, with the production static storage (collectstatic + WhiteNoise).
"""

import shutil
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection
from django.db.backends.signals import connection_created
from django.test.testcases import LiveServerThread

from accounts.tests.factories import OrganizationFactory, UserFactory
from accounts.tests.test_admin_two_factor import totp
from accounts.tokens import token_encode
from moderation.models import ReportStatus
from moderation.tests.factories import RecognitionFactory, ReportFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(django_settings.BASE_DIR) / "artifacts"
PASSWORD = "peerly-test-password"

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page(monkeypatch):
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip(
            "Chromium is not installed: run ./scripts/test as root, or apt-get install chromium chromium-driver"
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself are
    # still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        # launch() gives every run a fresh temporary profile (it refuses --user-data-dir).
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        # Every Content-Security-Policy violation the pages cause (Chromium reports each on the console).
        page.csp_violations = []
        page.on(
            "console",
            lambda message: (
                page.csp_violations.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture
def live_server_url(transactional_db, settings):
    """pytest-django's live server, minus its static files handler (it serves source files by their
    unhashed names, so the manifest's hashed URLs would 404): here WhiteNoise serves the collected
    files exactly as in production."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    server_pids: list[int] = []  # the sessions the server's request threads open

    def remember(sender, connection, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            server_pids.append(connection.connection.info.backend_pid)

    connection_created.connect(remember, weak=False)
    thread = LiveServerThread("localhost", static_handler=lambda app: app)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://localhost:{thread.port}"
    thread.terminate()
    # Request threads still serving a browser's keep-alive connection hold database sessions open;
    # end them so the test database can be flushed and dropped. Only theirs: under Playwright's
    # greenlets the test's own session need not be this teardown's.
    connection_created.disconnect(remember)
    if server_pids:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [server_pids])


def feed_ids(base_url: str, user) -> list[int]:
    response = requests.get(
        f"{base_url}/recognitions",
        headers={"Accept": "application/vnd.peerly.v1", "Authorization": f"Bearer {token_encode(user).token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def test_a_moderator_hides_a_reported_recognition_from_the_admin_queue(live_server_url, settings, browser_page):
    # given: the live server speaks plain HTTP, so the session and CSRF cookies cannot be Secure-only
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    assert (Path(settings.STATIC_ROOT) / "staticfiles.json").exists(), "run collectstatic first (./scripts/test does)"
    recognition = RecognitionFactory(text="Covered my on-call shift at 3am")
    organization = recognition.organization
    organization.staff_password_sign_in = True  # the organisation chose passwords for its staff
    organization.save()
    ReportFactory(recognition=recognition, mark_as="fraud", reason="They were on holiday that week")
    RecognitionFactory(organization=organization, text="Kept for the feed")
    moderator = UserFactory(organization=organization, moderator=True, email="mod@" + organization.domains.get().domain)
    employee = UserFactory(organization=organization)
    assert recognition.id in feed_ids(live_server_url, employee)
    page = browser_page
    stylesheets: dict[str, int] = {}
    page.on("response", lambda r: stylesheets.update({r.url: r.status}) if r.url.endswith(".css") else None)

    # when: the moderator signs in with email and password
    page.goto(f"{live_server_url}/admin/login/?next=/admin/")
    page.fill("#id_username", moderator.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server_url}/admin/")
    assert "Peerly administration" in page.inner_text("#site-name")
    assert organization.name in page.inner_text("#site-name")

    # and opens the queue
    page.click("text=Reported recognitions")
    page.wait_for_url("**/admin/moderation/reportedrecognition/")
    row = page.locator("#result_list tbody tr", has_text="Covered my on-call shift")
    assert "They were on holiday that week" in row.inner_text()
    assert "Visible" in row.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "moderation-queue.png"), full_page=True)

    # and hides the recognition with the action
    row.locator("input[name=_selected_action]").check()
    page.select_option("select[name=action]", "hide_recognitions")
    page.click("button[name=index]")
    page.wait_for_selector("ul.messagelist")

    # then
    assert "1 recognition(s) hidden." in page.inner_text("ul.messagelist")
    assert "Hidden" in page.locator("#result_list tbody tr", has_text="Covered my on-call shift").inner_text()
    page.screenshot(path=str(ARTIFACTS / "moderation-queue-after-hide.png"), full_page=True)
    assert page.csp_violations == []  # the admin works under the policy (no inline scripts)
    assert any("/static/admin/css/base" in url for url in stylesheets), stylesheets
    assert set(stylesheets.values()) == {200}, stylesheets
    recognition.refresh_from_db()
    assert recognition.is_hidden is True
    assert set(recognition.reports.values_list("status", flat=True)) == {ReportStatus.CLOSED}
    ids = feed_ids(live_server_url, employee)
    assert recognition.id not in ids
    assert ids  # the other recognition is still there


def test_the_swagger_ui_renders_under_the_content_security_policy(live_server_url, browser_page):
    # when the Swagger UI is opened
    page = browser_page
    response = page.goto(f"{live_server_url}/api/docs")

    # then the policy is enforced (no inline script allowed) and the UI still lists the operations
    policy = response.headers["content-security-policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/recognitions" in [path.strip() for path in paths]
    assert page.csp_violations == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "swagger-ui.png"))


def test_an_org_admin_signs_in_with_google_through_the_consent_page(
    live_server_url, settings, google_oauth, browser_page
):
    # given: an organisation admin without a password, and the fake Google's consent page
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    admin = UserFactory(organization=OrganizationFactory(name="Globex"), org_admin=True, password=None)
    page = browser_page

    # when: they press "Sign in with Google", pick their account and allow
    page.goto(f"{live_server_url}/admin/login/?next=/admin/")
    page.click("#google-sign-in")
    page.wait_for_url(f"{google_oauth.base_url}/o/oauth2/v2/auth?**")
    assert "Choose an account" in page.inner_text("h1")
    page.fill("input[name=login_email]", admin.email)
    page.click("button[type=submit]")

    # then: they are in the back office, signed in as themselves, with nothing broken by the policy
    page.wait_for_url(f"{live_server_url}/admin/")
    assert "Globex" in page.inner_text("#site-name")
    assert admin.email in page.text_content("#user-tools")  # "Welcome, <email>": the session is theirs
    assert page.csp_violations == []


def test_a_password_sign_in_sets_up_two_factor_from_the_qr_code_page(live_server_url, settings, browser_page):
    # given: two-factor required, and a moderator of an organisation that allows passwords
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.PEERLY_STAFF_TOTP_REQUIRED = True
    moderator = UserFactory(
        organization=OrganizationFactory(name="Initech", staff_password_sign_in=True), moderator=True
    )
    page = browser_page

    # when: they sign in with their password
    page.goto(f"{live_server_url}/admin/login/?next=/admin/")
    page.fill("#id_username", moderator.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    # then: the enrolment page, with a QR code drawn as SVG and the key to type by hand
    page.wait_for_url(f"{live_server_url}/admin/two-factor/enrol/?next=%2Fadmin%2F")
    qr_code = page.locator("#two-factor-qr-code svg")
    assert qr_code.bounding_box()["width"] > 150  # large enough to scan
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "two-factor-enrol.png"), full_page=True)
    secret = page.inner_text("#two-factor-secret")

    # when: they type the code their app computes from that key
    page.fill("#id_code", totp(secret, time.time()))
    page.click("#two-factor-form input[type=submit]")

    # then: ten recovery codes, shown once, and on into the back office
    page.wait_for_selector("#recovery-codes")
    assert len(page.locator("#recovery-codes li").all_inner_texts()) == 10
    page.click("#two-factor-continue")
    page.wait_for_url(f"{live_server_url}/admin/")
    assert moderator.email in page.text_content("#user-tools")
    assert page.csp_violations == []


def test_an_org_admin_opens_the_insights_dashboard_and_a_moderator_cannot(live_server_url, settings, browser_page):
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    organization = OrganizationFactory(staff_password_sign_in=True)
    domain = organization.domains.get().domain
    admin = UserFactory(organization=organization, org_admin=True, email=f"hr@{domain}")
    moderator = UserFactory(organization=organization, moderator=True, email=f"mod@{domain}")
    for n in range(12):
        RecognitionFactory(organization=organization, text=f"Thanks #{n}")
    page = browser_page

    page.goto(f"{live_server_url}/admin/login/?next=/admin/")
    page.fill("#id_username", admin.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server_url}/admin/")
    page.click("text=Dashboard")
    page.wait_for_url("**/admin/insights/")

    assert page.locator("svg.insights-chart").count() == 2
    assert "Recognitions per day" in page.locator("svg.insights-chart >> nth=0").inner_html()
    assert "12" in page.inner_text(".insights-tiles")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "insights-dashboard.png"), full_page=True)
    with page.expect_download() as download:
        page.click("text=Download CSV")
    assert download.value.suggested_filename.endswith(".csv")
    assert page.csp_violations == []

    page.context.clear_cookies()  # signed out
    page.goto(f"{live_server_url}/admin/login/?next=/admin/")
    page.fill("#id_username", moderator.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server_url}/admin/")
    assert "Dashboard" not in page.inner_text("#content-main")
    assert page.goto(f"{live_server_url}/admin/insights/").status == 403
