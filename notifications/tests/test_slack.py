"""Slack (#11): an organisation admin connects a channel in the admin; each new recognition is posted
with Block Kit through slack-sdk to a local HTTP server standing in for Slack. Addresses are checked
with a stub resolver: no test resolves a real name or sends a request beyond loopback."""

import json

import pytest
from django.test import Client

from audit.models import AuditEvent
from notifications import outbound, slack
from notifications.models import SlackChannel
from notifications.outbound import OutboundUrlRefused, outbound_url_check
from recognitions.tests.factories import RecognitionFactory
from tests.live import HttpSink

ADD = "/admin/notifications/slackchannel/add/"
SLACK_URL = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"


@pytest.mark.parametrize(
    ("url", "addresses", "refused"),
    [
        (SLACK_URL, ["34.226.36.52"], None),
        ("http://hooks.slack.com/services/x", ["34.226.36.52"], "https"),
        ("https://internal.example/x", ["10.0.0.7"], "private"),
        ("https://internal.example/x", ["34.226.36.52", "192.168.1.1"], "private"),  # any one address is enough
        ("https://internal.example/x", ["169.254.169.254"], "private"),  # cloud metadata
        ("https://internal.example/x", ["127.0.0.1"], "private"),
        ("https://internal.example/x", ["::1"], "private"),
        ("https://internal.example/x", ["fd00::1"], "private"),
        ("https://internal.example/x", ["100.64.0.1"], "private"),  # carrier-grade NAT
        ("https://internal.example/x", ["224.0.0.1"], "private"),
        ("https://internal.example/x", ["::ffff:10.0.0.1"], "private"),  # IPv4-mapped
        ("https://internal.example/x", ["64:ff9b::a00:1"], "private"),  # NAT64 of 10.0.0.1
        ("https://internal.example/x", ["2002:a00:1::1"], "private"),  # 6to4
        ("https://nowhere.example/x", None, "does not resolve"),
        ("https://user:pw@hooks.slack.com/x", ["34.226.36.52"], "user name"),
        ("ftp://hooks.slack.com/x", ["34.226.36.52"], "https"),
    ],
)
def test_only_public_https_addresses_are_allowed(dns, url, addresses, refused):
    if addresses is not None:
        from urllib.parse import urlsplit

        dns[urlsplit(url).hostname] = addresses
    if refused is None:
        outbound_url_check(url)
        return
    with pytest.raises(OutboundUrlRefused, match=refused):
        outbound_url_check(url)


def test_http_to_loopback_only_where_the_setting_allows_it(dns, settings):
    with pytest.raises(OutboundUrlRefused):
        outbound_url_check("http://127.0.0.1:9/hook")
    settings.PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP = True
    outbound_url_check("http://127.0.0.1:9/hook")
    with pytest.raises(OutboundUrlRefused):
        outbound_url_check("http://hooks.slack.com/hook")  # loopback only


@pytest.mark.django_db
def test_an_org_admin_connects_slack_and_the_url_is_never_shown_back(dns, org_admin, organization):
    client = Client()
    client.force_login(org_admin)
    assert client.post(ADD, {"webhook_url": SLACK_URL, "enabled": "on"}).status_code == 302

    channel = SlackChannel.objects.get()
    assert (channel.organization, channel.webhook_url, channel.enabled) == (organization, SLACK_URL, True)
    change = f"/admin/notifications/slackchannel/{channel.pk}/change/"
    for page in (client.get("/admin/notifications/slackchannel/"), client.get(change)):
        body = page.content.decode()
        assert page.status_code == 200
        assert SLACK_URL not in body
        assert "XXXX" in body  # the masked form: enough to recognise it
    event = AuditEvent.objects.get(action="organization.updated")
    assert event.after == {"slack_enabled": True, "slack_webhook_url": "changed"}
    assert SLACK_URL not in json.dumps([event.before, event.after])

    # Saved again with the URL left empty: kept; switched off.
    assert client.post(change, {"webhook_url": "", "enabled": ""}).status_code == 302
    channel.refresh_from_db()
    assert (channel.webhook_url, channel.enabled) == (SLACK_URL, False)


@pytest.mark.django_db
def test_a_private_address_is_refused_at_save_time(dns, org_admin):
    dns["hooks.evil.example"] = ["10.1.2.3"]
    client = Client()
    client.force_login(org_admin)
    page = client.post(ADD, {"webhook_url": "https://hooks.evil.example/x", "enabled": "on"})
    assert page.status_code == 200
    assert "private or reserved address" in page.content.decode()
    assert not SlackChannel.objects.exists()


@pytest.mark.django_db
def test_another_organisations_channel_is_out_of_reach(dns, org_admin, other_organization):
    theirs = slack.slack_channel_save(actor=None, organization=other_organization, webhook_url=SLACK_URL, enabled=True)
    client = Client()
    client.force_login(org_admin)
    assert client.get("/admin/notifications/slackchannel/").context["cl"].result_count == 0
    assert client.get(f"/admin/notifications/slackchannel/{theirs.pk}/change/").status_code == 302


@pytest.fixture
def fake_slack(settings):
    settings.PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP = True
    server = HttpSink().start()
    yield server
    server.stop()


def event_for(recognition) -> dict:
    organization_id = recognition.organization_id
    return {
        "id": "e1",
        "type": "recognition.created",
        "organization_id": organization_id,
        "recognition_id": recognition.pk,
    }


@pytest.mark.django_db
def test_a_new_recognition_is_posted_with_block_kit(fake_slack, organization):
    slack.slack_channel_save(actor=None, organization=organization, webhook_url=f"{fake_slack.url}/hook", enabled=True)
    recognition = RecognitionFactory(organization=organization, text="Shipped <it> & more")

    assert slack.slack_deliver(event=event_for(recognition)) is True

    [request] = fake_slack.requests
    assert (request["method"], request["path"]) == ("POST", "/hook")
    payload = json.loads(request["body"])
    headline, quote, context = payload["blocks"]
    assert recognition.given_by.display_name in headline["text"]["text"]
    assert recognition.given_for.display_name in headline["text"]["text"]
    assert recognition.core_value.text in headline["text"]["text"]
    assert quote["text"]["text"] == "> Shipped &lt;it&gt; &amp; more"  # Slack's control characters escaped
    assert organization.name in context["elements"][0]["text"]
    assert "Shipped <it> & more" in payload["text"]  # the notification's plain-text fallback


@pytest.mark.django_db
def test_a_hidden_recognition_or_a_switched_off_channel_posts_nothing(fake_slack, organization):
    slack.slack_channel_save(actor=None, organization=organization, webhook_url=f"{fake_slack.url}/hook", enabled=True)
    assert slack.slack_deliver(event=event_for(RecognitionFactory(organization=organization, hidden=True))) is False
    slack.slack_channel_save(actor=None, organization=organization, webhook_url=None, enabled=False)
    assert slack.slack_deliver(event=event_for(RecognitionFactory(organization=organization))) is False
    assert fake_slack.requests == []


@pytest.mark.django_db
def test_a_slack_error_is_retried_and_a_redirect_is_not_followed(fake_slack, organization):
    slack.slack_channel_save(actor=None, organization=organization, webhook_url=f"{fake_slack.url}/hook", enabled=True)
    recognition = RecognitionFactory(organization=organization)
    fake_slack.answers = [(500, {}), (302, {"Location": f"{fake_slack.url}/elsewhere"})]

    with pytest.raises(slack.SlackDeliveryFailed, match="Slack answered 500") as failure:
        slack.slack_deliver(event=event_for(recognition))
    assert fake_slack.url not in str(failure.value)  # the URL is a secret: never in an error or a log
    with pytest.raises(slack.SlackDeliveryFailed, match="Slack answered 302"):
        slack.slack_deliver(event=event_for(recognition))
    assert [request["path"] for request in fake_slack.requests] == ["/hook", "/hook"]  # not /elsewhere


@pytest.mark.django_db
def test_the_address_is_checked_again_before_each_delivery(dns, organization, caplog):
    slack.slack_channel_save(actor=None, organization=organization, webhook_url=SLACK_URL, enabled=True)
    dns["hooks.slack.com"] = ["10.0.0.9"]  # DNS changed since it was saved
    assert slack.slack_deliver(event=event_for(RecognitionFactory(organization=organization))) is False
    assert "refused" in caplog.text
    assert SLACK_URL not in caplog.text


@pytest.mark.django_db
def test_only_recognitions_reach_slack(fake_slack, organization):
    from notifications import services

    slack.slack_channel_save(actor=None, organization=organization, webhook_url=f"{fake_slack.url}/hook", enabled=True)
    recognition = RecognitionFactory(organization=organization)
    hidden = {**event_for(recognition), "type": "recognition.hidden"}
    assert services.event_fan_out(event=event_for(recognition)) == 2  # the email and the Slack post
    assert services.event_fan_out(event=hidden) == 1  # the giver's email only


@pytest.mark.parametrize("address", ["10.0.0.1", "10.1.2.3", "100.64.0.1", "34.226.36.52"])
def test_no_test_can_connect_beyond_loopback(address):
    import socket

    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="loopback only"):
        sock.connect((address, 443))  # refused by conftest.py before any packet leaves


@pytest.mark.parametrize("name", ["hooks.slack.com", "example.com", b"metadata.google.internal"])
def test_no_test_can_resolve_a_name_beyond_loopback(name):
    import socket

    with pytest.raises(socket.gaierror, match="loopback names only"):
        socket.getaddrinfo(name, 443)  # refused by conftest.py before any DNS query
    assert socket.getaddrinfo("localhost", 443)  # loopback names still resolve
    assert outbound.resolve("127.0.0.1", 443) == ["127.0.0.1"]


def test_slack_sdk_still_sends_through_the_one_method_peerly_overrides():
    """slack.py's _WebhookClient replaces slack-sdk's `_perform_http_request_internal` (outbound.send:
    vetted address, no redirects, 64 KB, 5 s). If an upgrade stopped calling it, posts would bypass that."""
    import inspect

    from slack_sdk.version import __version__
    from slack_sdk.webhook import WebhookClient

    assert __version__ == "3.48.0"  # pinned in requirements.txt; re-read the method when upgrading
    assert "self._perform_http_request_internal(url, req)" in inspect.getsource(WebhookClient._perform_http_request)
