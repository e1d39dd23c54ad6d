import factory
from django.utils import timezone

from accounts.models import Organization, OrganizationDomain, Role, User


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Org {n}")
    contact_email = factory.LazyAttribute(lambda o: f"hr@{o.name.lower().replace(' ', '')}.example")
    hi5_limit = 5
    timezone = "UTC"

    @factory.post_generation
    def domain(self, create: bool, extracted: str | None, **kwargs) -> None:
        if create:
            OrganizationDomain.objects.create(
                organization=self, domain=extracted or f"{self.name.lower().replace(' ', '')}.example"
            )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    display_name = factory.LazyAttribute(lambda u: f"{u.first_name} {u.last_name}")
    email = factory.LazyAttributeSequence(
        lambda u, n: f"user{n}@{u.organization.domains.first().domain if u.organization else 'peerly.example'}"
    )
    role_id = Role.EMPLOYEE
    hi5_quota_balance = factory.LazyAttribute(lambda u: u.organization.hi5_limit if u.organization else 0)
    password = factory.django.Password("peerly-test-password")

    class Params:
        org_admin = factory.Trait(role_id=Role.ORG_ADMIN)
        moderator = factory.Trait(role_id=Role.MODERATOR)
        super_admin = factory.Trait(role_id=Role.SUPER_ADMIN, organization=None)
        deleted = factory.Trait(soft_delete_at=factory.LazyFunction(timezone.now))
