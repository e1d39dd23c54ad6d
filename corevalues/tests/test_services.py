import threading

import pytest
from django.db import connection

from accounts.tests.factories import OrganizationFactory, UserFactory
from corevalues.models import CoreValue
from corevalues.services import core_value_create, core_value_update
from corevalues.tests.factories import CoreValueFactory
from peerly.api.exceptions import InvalidData


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(5))
def test_concurrent_parenting_never_makes_three_levels(attempt):
    # given: two top-level values; one request puts A under P while another creates a child of A
    organization = OrganizationFactory()
    admin = UserFactory(organization=organization, org_admin=True)
    parent, middle = CoreValueFactory.create_batch(2, organization=organization)
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def run(work) -> None:
        try:
            barrier.wait()
            work()
        except InvalidData as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=run,
            args=(
                lambda: core_value_update(
                    actor=admin, core_value=middle, text=middle.text, description="d", parent_core_value_id=parent.pk
                ),
            ),
        ),
        threading.Thread(
            target=run,
            args=(
                lambda: core_value_create(actor=admin, text="Child", description="d", parent_core_value_id=middle.pk),
            ),
        ),
    ]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then: exactly one of them won, and the tree has two levels at most
    assert len(errors) == 1
    for value in CoreValue.objects.filter(parent__isnull=False).select_related("parent"):
        assert value.parent.parent_id is None
