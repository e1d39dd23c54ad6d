"""The one organisation rule (accounts/scoping.py) that every selector, service and admin page applies."""

import pytest

from accounts.models import User
from accounts.scoping import reaches, scope_to_actor, target_organization
from accounts.tests.factories import OrganizationFactory, UserFactory
from peerly.api.exceptions import AccessDenied, InvalidData, UnknownReference

pytestmark = pytest.mark.django_db


@pytest.fixture
def home_and_away():
    home, away = OrganizationFactory(), OrganizationFactory()
    return home, away, UserFactory(organization=home), UserFactory(organization=away)


def emails(queryset) -> set[str]:
    return set(queryset.values_list("email", flat=True))


def test_a_member_reaches_only_their_organisation(home_and_away):
    home, away, member, _outsider = home_and_away
    assert emails(scope_to_actor(member, User.objects.all())) == {member.email}
    assert reaches(member, home.pk)
    assert not reaches(member, away.pk)
    with pytest.raises(AccessDenied):
        scope_to_actor(member, User.objects.all(), org_id=away.pk)


def test_a_super_admin_reaches_every_organisation_by_id_and_lists_their_own(home_and_away):
    super_admin = UserFactory(super_admin=True, organization=OrganizationFactory())
    _home, away, member, outsider = home_and_away
    assert {member.email, outsider.email} <= emails(scope_to_actor(super_admin, User.objects.all()))
    listed = emails(scope_to_actor(super_admin, User.objects.all(), listing=True))
    assert member.email not in listed  # their own organisation's only
    assert listed == emails(User.objects.filter(organization_id=super_admin.organization_id))
    assert emails(scope_to_actor(super_admin, User.objects.all(), org_id=away.pk, listing=True)) == {outsider.email}
    assert reaches(super_admin, away.pk)


def test_a_super_admin_of_no_organisation_lists_every_organisation(home_and_away):
    _home, _away, member, outsider = home_and_away
    root = User.objects.create_superuser("root@peerly.example")
    assert {member.email, outsider.email} <= emails(scope_to_actor(root, User.objects.all(), listing=True))
    with pytest.raises(InvalidData):
        target_organization(root, None)


def test_target_organization(home_and_away):
    super_admin = UserFactory(super_admin=True, organization=OrganizationFactory())
    home, away, member, _outsider = home_and_away
    assert target_organization(member, None) == home
    assert target_organization(super_admin, away.pk) == away
    with pytest.raises(AccessDenied):
        target_organization(member, away.pk)
    with pytest.raises(UnknownReference):
        target_organization(super_admin, 987654321)
