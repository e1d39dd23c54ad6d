import factory

from accounts.tests.factories import UserFactory
from corevalues.tests.factories import CoreValueFactory
from moderation.models import Report, ReportReason
from recognitions.tests.factories import NO_PASSWORD, RecognitionFactory

__all__ = ["CoreValueFactory", "RecognitionFactory", "ReportFactory"]


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    recognition = factory.SubFactory(RecognitionFactory)
    reported_by = factory.SubFactory(
        UserFactory, organization=factory.SelfAttribute("..recognition.organization"), password=NO_PASSWORD
    )
    mark_as = ReportReason.FRAUD
    reason = factory.Faker("sentence")
