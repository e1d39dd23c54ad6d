"""Core values in the admin: the organisation's tree, edited by its admins only."""

import pytest

from accounts.models import Organization
from accounts.tests.backoffice import admin_url
from accounts.tests.factories import UserFactory
from corevalues.models import CoreValue
from moderation.tests.factories import CoreValueFactory


def test_the_list_is_the_organisations_tree(client, home, away):
    # given a second family whose child sorts before the first family's values
    second = CoreValueFactory(organization=home.organization, text="Aaa second")
    second_child = CoreValueFactory(organization=home.organization, text="Aaa child", parent=second)
    client.force_login(home.org_admin)

    response = client.get(admin_url(CoreValue, "changelist"))

    rows = list(response.context["cl"].result_list)
    assert rows == [home.core_value, home.child_value, second, second_child]
    assert "\u21b3 Home Speak up" in response.content.decode()
    assert "Away" not in response.content.decode()


def test_the_add_form_offers_only_the_organisations_choices(client, home, away):
    client.force_login(home.org_admin)

    form = client.get(admin_url(CoreValue, "add")).context["adminform"].form

    assert list(form.fields["organization"].queryset) == [home.organization]
    assert list(form.fields["parent"].queryset) == [home.core_value]  # top-level values only


def test_an_org_admin_adds_a_sub_value(client, home):
    client.force_login(home.org_admin)

    response = client.post(
        admin_url(CoreValue, "add"),
        {"organization": home.organization.pk, "text": "Listen", "description": "First", "parent": home.core_value.pk},
    )

    assert response.status_code == 302
    created = CoreValue.objects.get(text="Listen")
    assert (created.organization, created.parent) == (home.organization, home.core_value)


@pytest.mark.parametrize("foreign", ["organization", "parent"])
def test_another_organisations_ids_are_refused(client, home, away, foreign):
    client.force_login(home.org_admin)
    data = {"organization": home.organization.pk, "text": "Sneaky", "description": "x"}
    data[foreign] = away.organization.pk if foreign == "organization" else away.core_value.pk

    response = client.post(admin_url(CoreValue, "add"), data)

    assert response.status_code == 200
    assert foreign in response.context["adminform"].form.errors
    assert not CoreValue.objects.filter(text="Sneaky").exists()


def test_two_levels_only(client, home):
    client.force_login(home.org_admin)

    response = client.post(
        admin_url(CoreValue, "add"),
        {"organization": home.organization.pk, "text": "Deep", "description": "x", "parent": home.child_value.pk},
    )

    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors


def test_a_duplicate_text_is_a_form_error_not_a_crash(client, home):
    client.force_login(home.org_admin)

    response = client.post(
        admin_url(CoreValue, "add"),
        {"organization": home.organization.pk, "text": home.core_value.text.upper(), "description": "x"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors


def test_a_super_admin_picks_any_organisation(client, home, away):
    client.force_login(UserFactory(super_admin=True))

    form = client.get(admin_url(CoreValue, "add")).context["adminform"].form

    assert set(form.fields["organization"].queryset) == set(Organization.objects.all())


def test_an_org_admin_edits_a_value_and_its_organisation_stays(client, home, away):
    client.force_login(home.org_admin)
    url = admin_url(CoreValue, "change", home.core_value.pk)

    response = client.post(
        url, {"organization": away.organization.pk, "text": "Bravery", "description": "Speak up", "parent": ""}
    )

    assert response.status_code == 302
    home.core_value.refresh_from_db()
    assert (home.core_value.text, home.core_value.description) == ("Bravery", "Speak up")
    assert home.core_value.organization == home.organization


def test_a_value_with_children_cannot_get_a_parent(client, home):
    other_root = CoreValueFactory(organization=home.organization, text="Other root")
    client.force_login(home.org_admin)

    response = client.post(
        admin_url(CoreValue, "change", home.core_value.pk),
        {"text": home.core_value.text, "description": "x", "parent": other_root.pk},
    )

    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    home.core_value.refresh_from_db()
    assert home.core_value.parent is None
