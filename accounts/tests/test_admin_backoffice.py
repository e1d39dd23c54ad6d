"""What organisation admins do in the back office: settings, users and their roles, passwords."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import Organization, OrganizationDomain, Role, User
from accounts.tests.backoffice import admin_url, form_data
from accounts.tests.factories import UserFactory
from peerly.api.exceptions import RuleViolation

USERS = admin_url(User, "changelist")


def user_ids(client, query: str = "") -> set[int]:
    response = client.get(f"{USERS}?{query}")
    assert response.status_code == 200
    return {user.pk for user in response.context["cl"].result_list}


# --- users ----------------------------------------------------------------------------------------


def test_the_user_list_is_the_organisations_members_only(client, home, away):
    client.force_login(home.org_admin)

    ids = user_ids(client)

    assert ids == set(home.organization.users.values_list("pk", flat=True))
    assert not ids & set(away.organization.users.values_list("pk", flat=True))


def test_users_are_searched_by_name_and_email_and_filtered_by_role_and_status(client, home, away):
    client.force_login(home.org_admin)

    assert user_ids(client, "q=homeemployee") == {home.employee.pk}
    assert user_ids(client, f"q={home.moderator.email}") == {home.moderator.pk}
    assert user_ids(client, "q=awayemployee") == set()
    assert user_ids(client, f"role_id__exact={Role.MODERATOR}") == {home.moderator.pk, home.deleted_moderator.pk}
    assert user_ids(client, "status=deleted") == {home.deleted_moderator.pk}
    assert home.deleted_moderator.pk not in user_ids(client, "status=active")


def test_the_organisation_filter_is_for_super_admins_only(client, home, away):
    client.force_login(home.org_admin)
    assert "Away" not in client.get(USERS).content.decode()

    client.force_login(UserFactory(super_admin=True))
    body = client.get(USERS).content.decode()
    assert "Away" in body
    assert "Home" in body


def post_action(client, action: str, users: list[User]):
    return client.post(USERS, {"action": action, "_selected_action": [str(user.pk) for user in users]})


def test_soft_delete_and_restore_actions(client, home):
    client.force_login(home.org_admin)

    response = post_action(client, "soft_delete_users", [home.employee])

    assert response.status_code == 302
    home.employee.refresh_from_db()
    assert home.employee.is_active is False
    assert home.employee.soft_delete_by == home.org_admin
    assert home.employee.tokens_valid_after is not None

    post_action(client, "restore_users", [home.employee])

    home.employee.refresh_from_db()
    assert home.employee.is_active is True


def test_soft_delete_refuses_yourself_and_reports_it(client, home):
    client.force_login(home.org_admin)

    response = post_action(client, "soft_delete_users", [home.org_admin, home.employee])

    home.org_admin.refresh_from_db()
    home.employee.refresh_from_db()
    assert home.org_admin.is_active is True
    assert home.employee.is_active is False
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == [
        "1 user(s) soft-deleted.",
        f"Not changed: {home.org_admin.email}: You cannot delete your own account",
    ]


def test_only_a_super_admin_restores_a_super_admin(client, home):
    # given a deleted super admin of the organisation
    boss = UserFactory(organization=home.organization, super_admin=True, deleted=True)
    client.force_login(home.org_admin)

    # when the org admin restores them (and an employee)
    home.employee.soft_delete_at = home.deleted_moderator.soft_delete_at
    home.employee.save()
    response = post_action(client, "restore_users", [boss, home.employee])

    # then the super admin stays deleted, and the refusal is reported
    boss.refresh_from_db()
    home.employee.refresh_from_db()
    assert (boss.is_active, home.employee.is_active) == (False, True)
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == [
        "1 user(s) restored.",
        f"Not changed: {boss.email}: Only a super admin can restore a super admin",
    ]

    # when a super admin does it, then it works
    client.force_login(UserFactory(super_admin=True))
    post_action(client, "restore_users", [boss])
    boss.refresh_from_db()
    assert boss.is_active is True


def test_actions_ignore_another_organisations_users(client, home, away):
    client.force_login(home.org_admin)

    post_action(client, "soft_delete_users", [away.employee])

    away.employee.refresh_from_db()
    assert away.employee.is_active is True


def test_there_is_no_hard_delete(client, home):
    client.force_login(UserFactory(super_admin=True))

    response = client.get(USERS)

    actions = [choice[0] for choice in response.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    assert client.get(admin_url(User, "delete", home.employee.pk)).status_code == 403


def change_user(client, user: User, **changes):
    url = admin_url(User, "change", user.pk)
    data = form_data(client.get(url))
    data.update(changes)
    return client.post(url, data)


def test_an_org_admin_changes_a_members_role(client, home):
    client.force_login(home.org_admin)

    response = change_user(client, home.employee, role_id=Role.MODERATOR, display_name="Mod Erator")

    assert response.status_code == 302
    home.employee.refresh_from_db()
    assert (home.employee.role_id, home.employee.display_name) == (Role.MODERATOR, "Mod Erator")


def test_an_org_admin_cannot_grant_the_super_admin_role(client, home):
    client.force_login(home.org_admin)
    form = client.get(admin_url(User, "change", home.employee.pk)).context["adminform"].form
    assert Role.SUPER_ADMIN not in [value for value, _ in form.fields["role_id"].choices]

    response = change_user(client, home.employee, role_id=Role.SUPER_ADMIN)

    assert response.status_code == 200
    assert "role_id" in response.context["adminform"].form.errors
    home.employee.refresh_from_db()
    assert home.employee.role_id == Role.EMPLOYEE


def test_an_org_admin_cannot_move_a_member_to_another_organisation(client, home, away):
    client.force_login(home.org_admin)

    change_user(client, home.employee, organization=away.organization.pk)

    home.employee.refresh_from_db()
    assert home.employee.organization == home.organization


def test_a_super_admin_without_organisation_is_demoted_only_with_an_organisation(client, home):
    # given a super admin of no organisation
    other = UserFactory(super_admin=True)
    client.force_login(UserFactory(super_admin=True))

    # when another super admin makes them an employee without giving them an organisation
    response = change_user(client, other, role_id=Role.EMPLOYEE)

    # then the form refuses with the API's rule
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["role_id"] == [
        "Only a super admin may belong to no organisation: give the user an organisation first"
    ]
    other.refresh_from_db()
    assert other.role_id == Role.SUPER_ADMIN

    # when they give them an organisation in the same form, then it works
    response = change_user(client, other, role_id=Role.EMPLOYEE, organization=home.organization.pk)

    assert response.status_code == 302
    other.refresh_from_db()
    assert (other.role_id, other.organization) == (Role.EMPLOYEE, home.organization)


def test_a_refused_role_change_is_reported_not_a_500(client, home, monkeypatch):
    # given the service refuses at save time what the form allowed (a concurrent change, say)
    def refuse(**kwargs):
        raise RuleViolation("Someone changed this user meanwhile")

    monkeypatch.setattr("accounts.services.user_change_role", refuse)
    client.force_login(home.org_admin)

    # when
    response = change_user(client, home.employee, role_id=Role.MODERATOR)

    # then
    assert response.status_code == 302
    messages = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
    assert ("error", "Role not changed: Someone changed this user meanwhile") in messages
    home.employee.refresh_from_db()
    assert home.employee.role_id == Role.EMPLOYEE


def test_your_own_role_is_read_only(client, home):
    client.force_login(home.org_admin)

    response = change_user(client, home.org_admin, role_id=Role.EMPLOYEE)

    assert response.status_code == 302
    home.org_admin.refresh_from_db()
    assert home.org_admin.role_id == Role.ORG_ADMIN


def test_an_org_admin_sets_a_moderators_admin_password(client, home):
    # given a moderator without a password
    moderator = UserFactory(organization=home.organization, moderator=True, password=None)
    moderator.set_unusable_password()
    moderator.save()
    client.force_login(home.org_admin)
    url = reverse("admin:auth_user_password_change", args=[moderator.pk])

    # when
    response = client.post(
        url, {"password1": "a-long-Staff-pass-42", "password2": "a-long-Staff-pass-42", "usable_password": "true"}
    )

    # then
    assert response.status_code == 302
    moderator.refresh_from_db()
    assert moderator.check_password("a-long-Staff-pass-42")
    assert moderator.is_staff


def test_moderators_cannot_set_passwords(client, home):
    client.force_login(home.moderator)

    response = client.get(reverse("admin:auth_user_password_change", args=[home.org_admin.pk]))

    assert response.status_code == 403


def set_password(client, user: User, password: str = "a-long-Staff-pass-42"):
    return client.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": password, "password2": password, "usable_password": "true"},
    )


@pytest.mark.parametrize("target", ["super_admin", "other_org_admin", "employee", "themselves"])
def test_an_org_admin_sets_no_password_but_their_moderators(client, home, target):
    # given an org admin and someone of their organisation who is not a moderator
    users = {
        "super_admin": UserFactory(organization=home.organization, super_admin=True),
        "other_org_admin": UserFactory(organization=home.organization, org_admin=True),
        "employee": home.employee,
        "themselves": home.org_admin,
    }
    user = users[target]
    client.force_login(home.org_admin)

    # when they open or post the user's password page
    page = client.get(reverse("admin:auth_user_password_change", args=[user.pk]))
    response = set_password(client, user)

    # then both are refused and the password is unchanged
    assert (page.status_code, response.status_code) == (403, 403)
    user.refresh_from_db()
    assert not user.check_password("a-long-Staff-pass-42")


def test_a_super_admin_sets_any_password(client, home):
    client.force_login(UserFactory(super_admin=True))
    for user in [UserFactory(super_admin=True), home.org_admin, home.moderator]:
        assert set_password(client, user).status_code == 302
        user.refresh_from_db()
        assert user.check_password("a-long-Staff-pass-42")


def test_an_org_admin_cannot_edit_a_super_admins_record(client, home):
    # given a super admin who belongs to the org admin's organisation
    boss = UserFactory(organization=home.organization, super_admin=True, display_name="Boss")
    client.force_login(home.org_admin)
    url = admin_url(User, "change", boss.pk)
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    data = form_data(page)
    data.update(display_name="Pwned", first_name="Pwned", last_name="Pwned")

    # when
    response = client.post(url, data)

    # then
    assert response.status_code == 403
    boss.refresh_from_db()
    assert boss.display_name == "Boss"


# --- the organisation's settings ------------------------------------------------------------------


def test_an_org_admin_sees_and_edits_only_their_organisation(client, home, away):
    client.force_login(home.org_admin)
    listing = client.get(admin_url(Organization, "changelist"))
    assert list(listing.context["cl"].result_list) == [home.organization]
    url = admin_url(Organization, "change", home.organization.pk)

    data = form_data(client.get(url))
    data.update(hi5_limit=7, hi5_quota_renewal_frequency="weekly", timezone="Europe/Paris", name="Renamed")
    response = client.post(url, data)

    assert response.status_code == 302
    home.organization.refresh_from_db()
    assert (home.organization.hi5_limit, home.organization.hi5_quota_renewal_frequency) == (7, "weekly")
    assert home.organization.timezone == "Europe/Paris"
    assert home.organization.name == "Home"  # the name is the platform operator's


@pytest.mark.parametrize(("field", "value"), [("timezone", "Mars/Olympus"), ("hi5_limit", 5000)])
def test_organisation_settings_are_validated(client, home, field, value):
    client.force_login(home.org_admin)
    url = admin_url(Organization, "change", home.organization.pk)
    data = form_data(client.get(url))
    data[field] = value

    response = client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    home.organization.refresh_from_db()
    assert getattr(home.organization, field) != value


def test_domains_are_shown_but_only_the_super_admin_edits_them(client, home):
    client.force_login(home.org_admin)
    url = admin_url(Organization, "change", home.organization.pk)
    page = client.get(url)
    assert "home.example" in page.content.decode()
    data = form_data(page)
    data.update({"domains-TOTAL_FORMS": "2", "domains-1-domain": "gmail.com", "domains-1-organization": ""})

    client.post(url, data)

    assert not OrganizationDomain.objects.filter(domain="gmail.com").exists()

    client.force_login(UserFactory(super_admin=True))
    data = form_data(client.get(url))
    data.update({"domains-TOTAL_FORMS": "2", "domains-1-domain": "home.example.org"})
    assert client.post(url, data).status_code == 302
    assert OrganizationDomain.objects.filter(organization=home.organization, domain="home.example.org").exists()
