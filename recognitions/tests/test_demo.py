from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from accounts.models import User
from corevalues.models import CoreValue
from recognitions.models import Hi5, Recognition

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_values_recognitions_and_spends_balances_consistently():
    call_command("seed_demo", stdout=StringIO())
    assert CoreValue.objects.count() == 4
    assert CoreValue.objects.filter(parent__isnull=False).count() == 1
    assert Recognition.objects.count() == 5
    assert Hi5.objects.count() == 6
    people = User.objects.filter(organization__name="Acme").annotate(
        given=Count("recognitions_given", distinct=True), hi5s=Count("hi5s_given", distinct=True)
    )
    for person in people:
        assert person.hi5_quota_balance == 5 - person.given - person.hi5s, person.email
