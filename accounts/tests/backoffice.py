"""A small world for the admin back-office tests: two organisations with one of everything."""

from dataclasses import dataclass

from django.urls import reverse

from accounts.models import Organization, User
from accounts.tests.factories import OrganizationFactory, UserFactory
from corevalues.models import CoreValue
from moderation.models import Report, Review
from moderation.tests.factories import CoreValueFactory, RecognitionFactory, ReportFactory
from recognitions.models import Hi5, Recognition


@dataclass
class Tenant:
    organization: Organization
    org_admin: User
    moderator: User
    employee: User
    deleted_moderator: User
    core_value: CoreValue
    child_value: CoreValue
    recognition: Recognition
    hi5: Hi5
    report: Report
    review: Review


def make_tenant(name: str) -> Tenant:
    organization = OrganizationFactory(name=name)
    core_value = CoreValueFactory(organization=organization, text=f"{name} Courage")
    recognition = RecognitionFactory(organization=organization, core_value=core_value, text=f"{name} saved the launch")
    employee = UserFactory(organization=organization, first_name=f"{name}employee")
    return Tenant(
        organization=organization,
        org_admin=UserFactory(organization=organization, org_admin=True),
        moderator=UserFactory(organization=organization, moderator=True),
        employee=employee,
        deleted_moderator=UserFactory(organization=organization, moderator=True, deleted=True),
        core_value=core_value,
        child_value=CoreValueFactory(organization=organization, parent=core_value, text=f"{name} Speak up"),
        recognition=recognition,
        hi5=Hi5.objects.create(recognition=recognition, given_by=employee, comment=f"{name} hi5!"),
        report=ReportFactory(recognition=recognition, reported_by=employee, reason=f"{name} report reason"),
        review=Review.objects.create(
            recognition=RecognitionFactory(organization=organization, core_value=core_value),
            reviewed_by=organization.users.first(),
            is_inappropriate=False,
        ),
    )


def admin_url(model: type, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_data(response) -> dict:
    """The POST body a browser would send back for an admin change form, inlines included."""
    data: dict = {}

    def add(form, prefix_names: bool) -> None:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name) if prefix_names else name] = value

    add(response.context["adminform"].form, prefix_names=False)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form, prefix_names=True)
        for form in formset.forms:
            add(form, prefix_names=True)
    return data
