import factory

from accounts.tests.factories import OrganizationFactory, UserFactory
from corevalues.tests.factories import CoreValueFactory
from recognitions.models import Hi5, Recognition

# Hashing a password takes a good fraction of a second; these people never sign in to the admin.
NO_PASSWORD = factory.Transformer.Force("!")


class RecognitionFactory(factory.django.DjangoModelFactory):
    """A recognition between two members of one organisation (written directly: no balance is spent)."""

    class Meta:
        model = Recognition

    organization = factory.SubFactory(OrganizationFactory)
    core_value = factory.SubFactory(CoreValueFactory, organization=factory.SelfAttribute("..organization"))
    given_by = factory.SubFactory(
        UserFactory, organization=factory.SelfAttribute("..organization"), password=NO_PASSWORD
    )
    given_for = factory.SubFactory(
        UserFactory, organization=factory.SelfAttribute("..organization"), password=NO_PASSWORD
    )
    text = factory.Faker("sentence")
    is_hidden = False

    class Params:
        hidden = factory.Trait(is_hidden=True)


class Hi5Factory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hi5

    recognition = factory.SubFactory(RecognitionFactory)
    given_by = factory.SubFactory(
        UserFactory, organization=factory.SelfAttribute("..recognition.organization"), password=NO_PASSWORD
    )
    comment = ""
