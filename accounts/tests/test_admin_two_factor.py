"""The back office's second factor (#13): a password sign-in passes a TOTP code, or a one-use recovery
code, before any admin page opens; the first time it pairs an authenticator app from a QR code.

The tests compute the codes themselves (RFC 6238 below, not django-otp's) from the key the enrolment
page shows, at instants fixed with time-machine. Client addresses are loopback ones given as
REMOTE_ADDR to Django's in-process client: nothing connects.
"""

import base64
import hashlib
import hmac
import html
import re
import struct
import time
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import RecoveryCodes
from accounts.tests.factories import UserFactory
from accounts.tests.test_admin_google import sign_in as sign_in_with_google
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase"
T0 = 1_800_000_000  # a fixed instant, at the start of a 30-second TOTP step


def totp(secret: str, at: float, *, digits: int = 6, step: int = 30) -> str:
    """RFC 6238 (HMAC-SHA1), as an authenticator app computes it."""
    key = base64.b32decode(secret.replace(" ", "").upper())
    digest = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


@pytest.fixture(autouse=True)
def _second_factor_required(settings):
    settings.PEERLY_STAFF_TOTP_REQUIRED = True
    settings.PEERLY_RATE_LIMIT_ADMIN_LOGIN_ACCOUNT = "5/h"


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def staff(organization, **role):
    organization.staff_password_sign_in = True  # the organisation chose passwords (test_admin_password_policy.py)
    organization.save()
    user = UserFactory(organization=organization, **(role or {"moderator": True}))
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(user, *, ip: str = "127.0.0.1", next_url: str = "") -> tuple[Client, object]:
    """The login form as a browser posts it (its hidden `next` is the admin's index unless given)."""
    client = Client(REMOTE_ADDR=ip)
    form = {"username": user.email, "password": PASSWORD, "next": next_url or "/admin/"}
    return client, client.post("/admin/login/", form)


def shown_secret(response) -> str:
    match = re.search(r'<code id="two-factor-secret">([A-Z2-7 ]+)</code>', response.content.decode())
    assert match, "the enrolment page shows the key"
    return match.group(1)


def enrol(client, at: float = T0) -> tuple[str, list[str]]:
    """Pair an authenticator from the enrolment page; the key and the recovery codes shown."""
    page = client.get("/admin/two-factor/enrol/")
    secret = shown_secret(page)
    done = client.post("/admin/two-factor/enrol/", {"code": totp(secret, at)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.content.decode())
    return secret, codes


def test_a_right_password_leads_to_the_code_not_to_the_admin(organization):
    moderator = staff(organization)
    client, answer = sign_in(moderator, next_url="/admin/moderation/report/")

    assert answer.status_code == 302
    assert answer.url == "/admin/two-factor/?next=%2Fadmin%2Fmoderation%2Freport%2F"
    for path in ("/admin/", "/admin/moderation/report/", "/admin/audit/auditevent/", "/admin/logout/"):
        assert client.get(path).status_code == 302, path  # no admin page before the code
    again = client.get("/admin/login/?next=/admin/")
    assert again.url == "/admin/two-factor/?next=%2Fadmin%2F"
    # No authenticator yet: the code page sends the member to set one up, keeping where they were going.
    assert client.get("/admin/two-factor/?next=/admin/").url == "/admin/two-factor/enrol/?next=%2Fadmin%2F"


def test_enrolment_shows_a_qr_code_and_the_key_then_the_recovery_codes_once(organization, clock):
    moderator = staff(organization)
    client, _ = sign_in(moderator)

    page = client.get("/admin/two-factor/enrol/")
    body = page.content.decode()
    assert page.status_code == 200
    assert '<div id="two-factor-qr-code" role="img"' in body
    assert "<svg" in body
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)  # no inline script (the CSP forbids it)
    secret = shown_secret(page)
    assert shown_secret(client.get("/admin/two-factor/enrol/")) == secret  # a reload shows the same key
    assert not moderator.totpdevice_set.exists()  # nothing stored before the code is right

    wrong = client.post("/admin/two-factor/enrol/", {"code": totp(secret, T0 + 300)})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302

    clock.shift(3)  # django-otp slows down the next try after a wrong code
    done = client.post("/admin/two-factor/enrol/", {"code": totp(secret, time.time())})
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", done.content.decode())
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert client.get("/admin/").status_code == 200  # this session is verified
    # Stored hashed only: the database holds none of the codes.
    stored = RecoveryCodes.objects.get(user=moderator).code_hashes
    assert len(stored) == 10
    assert not {code.replace("-", "") for code in codes} & set(stored)
    enrolled = AuditEvent.objects.get(action="staff.totp_enrolled")
    assert (enrolled.target_id, enrolled.actor_user_id, enrolled.after) == (
        str(moderator.pk),
        moderator.pk,
        {"recovery_codes": 10},
    )
    failed = AuditEvent.objects.get(action="staff.sign_in_failed")
    assert failed.after == {"method": "totp", "username": moderator.email}


def test_the_authenticator_uri_names_peerly_and_the_member(organization):
    moderator = staff(organization)
    client, _ = sign_in(moderator)
    page = client.get("/admin/two-factor/enrol/")
    secret = shown_secret(page)
    link = re.search(r'<a id="two-factor-open-app" href="([^"]+)">', page.content.decode()).group(1)
    uri = urlsplit(html.unescape(link))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert uri.path == f"/Peerly%3A{moderator.email.replace('@', '%40')}"
    assert parse_qs(uri.query)["secret"] == [secret.replace(" ", "")]
    assert parse_qs(uri.query)["issuer"] == ["Peerly"]


def test_the_next_sign_in_asks_for_a_code_and_accepts_each_code_once(organization, clock):
    moderator = staff(organization)
    secret, _ = enrol(sign_in(moderator)[0])

    clock.shift(60)
    client, answer = sign_in(moderator, next_url="/admin/moderation/report/")
    code_page = client.get(answer.url)
    assert code_page.status_code == 200
    assert "authenticator app" in code_page.content.decode()
    code = totp(secret, time.time())
    verified = client.post(answer.url, {"code": code})
    assert verified.url == "/admin/moderation/report/"
    assert client.get("/admin/moderation/report/").status_code == 200
    passed = AuditEvent.objects.get(action="staff.second_factor_passed")
    assert (passed.actor_user_id, passed.after) == (moderator.pk, {"method": "totp"})

    # The same code again, from another session within its 30 seconds: refused (a replay).
    replay_client, replay_answer = sign_in(moderator, ip="127.0.0.2")
    replayed = replay_client.post(replay_answer.url, {"code": code})
    assert replayed.status_code == 200
    assert "That code is not right" in replayed.content.decode()
    assert replay_client.get("/admin/").status_code == 302


def test_passing_the_code_gives_the_session_a_new_id(organization, clock):
    moderator = staff(organization)
    secret, _ = enrol(sign_in(moderator)[0])
    clock.shift(60)
    client, answer = sign_in(moderator)
    before = client.cookies["sessionid"].value
    client.post(answer.url, {"code": totp(secret, time.time())})
    assert client.cookies["sessionid"].value != before


def test_a_recovery_code_signs_in_once(organization, clock):
    moderator = staff(organization)
    _, codes = enrol(sign_in(moderator)[0])

    client, answer = sign_in(moderator)
    typed = codes[3].upper().replace("-", " ")  # case, spaces and dashes do not matter
    assert client.post(answer.url, {"code": typed}).url == "/admin/"
    assert client.get("/admin/").status_code == 200
    passed = AuditEvent.objects.get(action="staff.second_factor_passed")
    assert passed.after == {"method": "recovery_code", "recovery_codes_left": 9}

    again_client, again = sign_in(moderator, ip="127.0.0.2")
    refused = again_client.post(again.url, {"code": codes[3]})
    assert refused.status_code == 200
    assert again_client.get("/admin/").status_code == 302
    assert AuditEvent.objects.filter(action="staff.sign_in_failed").get().after["method"] == "recovery_code"
    assert again_client.post(again.url, {"code": codes[4]}).url == "/admin/"


def test_wrong_codes_are_limited_per_account_like_passwords(organization, clock, settings):
    settings.PEERLY_RATE_LIMIT_ADMIN_LOGIN_ACCOUNT = "3/h"
    moderator = staff(organization)
    secret, _ = enrol(sign_in(moderator)[0])
    clock.shift(60)
    client, answer = sign_in(moderator)  # the enrolment and this password: successes, not counted
    for n in range(3):
        clock.shift(30)
        assert client.post(answer.url, {"code": "000000" if n else "999999"}).status_code == 200
    clock.shift(30)
    refused = client.post(answer.url, {"code": totp(secret, time.time())})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert client.get("/admin/").status_code == 302


def test_enrolment_never_replaces_an_authenticator(organization, clock):
    moderator = staff(organization)
    secret, _ = enrol(sign_in(moderator)[0])
    client, _ = sign_in(moderator)  # someone else with the password
    assert client.get("/admin/two-factor/enrol/").url == "/admin/two-factor/?next=%2Fadmin%2F"
    posted = client.post("/admin/two-factor/enrol/", {"code": totp(secret, T0 + 60)})
    assert posted.status_code == 302
    assert client.get("/admin/").status_code == 302
    assert moderator.totpdevice_set.count() == 1


def test_the_code_pages_sign_out(organization):
    moderator = staff(organization)
    client, _answer = sign_in(moderator)
    assert client.post("/admin/two-factor/sign-out/").url == "/admin/login/"
    assert client.get("/admin/two-factor/").url == "/admin/login/"
    assert client.get("/admin/two-factor/sign-out/").status_code == 405


def test_the_code_pages_are_for_pending_staff_sessions_only(organization, clock):
    anonymous = Client()
    assert anonymous.get("/admin/two-factor/").url == "/admin/login/"
    assert anonymous.post("/admin/two-factor/enrol/", {"code": "123456"}).url == "/admin/login/"
    moderator = staff(organization)
    client, _ = sign_in(moderator)
    enrol(client)
    # A verified session has nothing to do there; it goes on to `next`, on this site only.
    assert client.get("/admin/two-factor/?next=/admin/audit/auditevent/").url == "/admin/audit/auditevent/"
    assert client.get("/admin/two-factor/?next=https://evil.example/").url == "/admin/"


def test_google_sign_ins_need_no_code(google_oauth, organization):
    moderator = staff(organization)
    client = Client()
    assert sign_in_with_google(client, google_oauth, moderator.email).url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_password_session_from_before_the_requirement_is_asked_for_its_code(organization, settings):
    settings.PEERLY_STAFF_TOTP_REQUIRED = False
    moderator = staff(organization)
    client, _ = sign_in(moderator)
    assert client.get("/admin/").status_code == 200
    settings.PEERLY_STAFF_TOTP_REQUIRED = True
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/login/").url == "/admin/two-factor/"


def test_an_operator_resets_a_lost_authenticator(organization, clock):
    moderator = staff(organization)
    enrol(sign_in(moderator)[0])
    out = StringIO()
    call_command("reset_staff_totp", moderator.email.upper(), stdout=out)
    assert "reset for" in out.getvalue()
    assert not moderator.totpdevice_set.exists()
    assert not RecoveryCodes.objects.filter(user=moderator).exists()
    reset = AuditEvent.objects.get(action="staff.totp_reset")
    assert (reset.target_id, reset.actor_user_id, reset.organization_id) == (str(moderator.pk), None, organization.pk)

    client, answer = sign_in(moderator)
    assert client.get(answer.url).url.startswith("/admin/two-factor/enrol/")  # sets one up again

    out = StringIO()
    call_command("reset_staff_totp", moderator.email, stdout=out)
    assert "nothing to reset" in out.getvalue()
    assert AuditEvent.objects.filter(action="staff.totp_reset").count() == 1
    with pytest.raises(CommandError, match="No user"):
        call_command("reset_staff_totp", "nobody@example.com")


def test_super_admins_do_not_see_anyones_authenticator_key_in_the_admin(super_admin, clock):
    super_admin.set_password(PASSWORD)
    super_admin.save()
    client, _ = sign_in(super_admin)
    enrol(client)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "otp_totp" not in index.content.decode()
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404


def test_the_key_being_enrolled_belongs_to_one_session_and_expires(organization, clock):
    moderator = staff(organization)
    owner, _ = sign_in(moderator)
    intruder, _ = sign_in(moderator, ip="127.0.0.2")  # someone else who learnt the password
    key = shown_secret(owner.get("/admin/two-factor/enrol/"))
    assert shown_secret(intruder.get("/admin/two-factor/enrol/")) != key
    # The owner's key cannot be confirmed from the other session, even with a right code for it.
    refused = intruder.post("/admin/two-factor/enrol/", {"code": totp(key, T0)})
    assert refused.status_code == 200
    assert not moderator.totpdevice_set.exists()

    clock.shift(11 * 60)
    assert shown_secret(owner.get("/admin/two-factor/enrol/")) != key  # a key shown long ago is replaced


def test_the_enrolment_service_never_replaces_an_authenticator(organization, clock):
    from accounts import services

    moderator = staff(organization)
    enrol(sign_in(moderator)[0])
    key = "ab" * 20
    assert (
        services.staff_totp_enrol(
            user=moderator, key=key, code=totp(base64.b32encode(bytes.fromhex(key)).decode(), T0), request=None
        )
        is None
    )
    assert moderator.totpdevice_set.count() == 1


def test_a_pending_session_changes_nothing_in_the_admin(organization):
    from accounts.models import Organization
    from accounts.tests.backoffice import admin_url

    admin = staff(organization, org_admin=True)
    client, _ = sign_in(admin)
    url = admin_url(Organization, "change", organization.pk)
    posted = client.post(url, {"name": organization.name, "hi5_limit": "99", "timezone": "UTC"})
    assert posted.status_code == 302
    assert posted.url.startswith("/admin/login/")
    organization.refresh_from_db()
    assert organization.hi5_limit != 99
    assert client.get("/admin/password_change/").status_code == 302


def test_the_sign_in_is_audited_as_pending_until_the_code(organization, clock):
    moderator = staff(organization)
    sign_in(moderator)
    event = AuditEvent.objects.get(action="staff.signed_in")
    assert event.after == {"method": "password", "second_factor": "pending"}


def test_after_wrong_codes_the_page_says_how_long_to_wait(organization, clock):
    moderator = staff(organization)
    secret, _ = enrol(sign_in(moderator)[0])
    client, answer = sign_in(moderator)
    for _ in range(3):
        clock.shift(3)  # past each wait: three counted failures
        client.post(answer.url, {"code": "000000"})
    page = client.post(answer.url, {"code": totp(secret, time.time())}).content.decode()
    assert "the next try waits: 4 seconds from now" in page  # django-otp: 2 ** (3 - 1) seconds
    clock.shift(30)
    assert client.post(answer.url, {"code": totp(secret, time.time())}).url == "/admin/"


def test_a_foreign_next_is_not_followed_after_the_code(organization, clock):
    moderator = staff(organization)
    secret, _ = enrol(sign_in(moderator)[0])
    client, _ = sign_in(moderator)
    clock.shift(60)
    verified = client.post("/admin/two-factor/?next=https://evil.example/", {"code": totp(secret, time.time())})
    assert verified.url == "/admin/"


def test_a_reset_ends_the_members_sessions(organization, clock):
    moderator = staff(organization)
    laptop, _ = sign_in(moderator)
    enrol(laptop)
    assert laptop.get("/admin/").status_code == 200
    call_command("reset_staff_totp", moderator.email, stdout=StringIO())
    # The session on the lost laptop is gone: not even the enrolment page, without the password.
    assert laptop.get("/admin/two-factor/enrol/").url == "/admin/login/"
