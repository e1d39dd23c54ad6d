import factory

from accounts.tests.factories import OrganizationFactory
from corevalues.models import CoreValue


class CoreValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoreValue

    organization = factory.SubFactory(OrganizationFactory)
    text = factory.Sequence(lambda n: f"Value {n}")
    description = factory.Faker("sentence")
    parent = None
    thumbnail_url = ""
