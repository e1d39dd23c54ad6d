import factory

from accounts.tests.factories import OrganizationFactory, UserFactory
from corevalues.models import CoreValue
from moderation.models import Report, ReportReason
from recognitions.models import Recognition


class CoreValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoreValue

    organization = factory.SubFactory(OrganizationFactory)
    text = factory.Sequence(lambda n: f"Value {n}")
    description = factory.Faker("sentence")


class RecognitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recognition

    organization = factory.SubFactory(OrganizationFactory)
    core_value = factory.SubFactory(CoreValueFactory, organization=factory.SelfAttribute("..organization"))
    given_by = factory.SubFactory(UserFactory, organization=factory.SelfAttribute("..organization"))
    given_for = factory.SubFactory(UserFactory, organization=factory.SelfAttribute("..organization"))
    text = factory.Faker("sentence")


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    recognition = factory.SubFactory(RecognitionFactory)
    reported_by = factory.SubFactory(UserFactory, organization=factory.SelfAttribute("..recognition.organization"))
    mark_as = ReportReason.FRAUD
    reason = factory.Faker("sentence")
