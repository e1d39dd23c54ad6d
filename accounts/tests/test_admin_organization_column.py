"""Every scoped change list shows a super admin the organisation (column and filter), and nobody else."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from accounts.admin_mixins import OrganizationScopedMixin
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SCOPED = [
    model_admin
    for model_admin in admin.site._registry.values()
    if isinstance(model_admin, OrganizationScopedMixin) and model_admin._organization_path() is not None
]


def request_as(user):
    user.set_password("a-long-enough-passphrase")
    user.save()
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_the_scoped_admins_are_found():
    assert len(SCOPED) >= 6


@pytest.mark.parametrize("model_admin", SCOPED, ids=lambda m: type(m).__name__)
def test_only_a_super_admin_sees_the_organisation(model_admin, organization):
    path = model_admin._organization_path()
    super_admin = request_as(UserFactory(super_admin=True))
    org_admin = request_as(UserFactory(organization=organization, org_admin=True))

    assert path in model_admin.get_list_display(super_admin)
    assert (path, admin.RelatedOnlyFieldListFilter) in model_admin.get_list_filter(super_admin)
    assert path not in model_admin.get_list_display(org_admin) or path in model_admin.list_display
    assert all(f != (path, admin.RelatedOnlyFieldListFilter) for f in model_admin.get_list_filter(org_admin))
