"""The demo organisation Acme, written through each app's services as a real one would be.

`./scripts/run` loads it; the README's walkthrough and docs/ use its people and ids.
"""

from django.db import transaction

from accounts.models import Organization, Role, User
from accounts.services import email_local_part, member_create, organization_setup
from corevalues.services import core_value_create
from moderation.models import ReportReason
from moderation.services import report_create
from recognitions.models import Recognition
from recognitions.services import hi5_give, hi5_quotas_renew, recognition_create

DEMO_PASSWORD = "peerly-demo"

DEMO_PEOPLE = [
    # email, first, last, role, admin password?
    ("alice@acme.example", "Alice", "Archer", Role.EMPLOYEE, False),
    ("bob@acme.example", "Bob", "Baker", Role.EMPLOYEE, False),
    ("carol@acme.example", "Carol", "Cooper", Role.EMPLOYEE, False),
    ("dan@acme.example", "Dan", "Dyer", Role.EMPLOYEE, False),
    ("hr@acme.example", "Hannah", "Reyes", Role.ORG_ADMIN, True),
    ("mod@acme.example", "Milo", "Odum", Role.MODERATOR, True),
]

CORE_VALUES = [
    # text, description, parent text
    ("Customer first", "We start from what our customers need and follow through.", None),
    ("Ownership", "We take responsibility for outcomes, not just tasks.", None),
    ("Teamwork", "We win together: we share knowledge and help each other.", None),
    ("Mentoring", "We help colleagues grow.", "Teamwork"),
]

RECOGNITIONS = [
    # giver, receiver, core value, text, Hi5s from
    ("alice", "bob", "Teamwork", "Thanks for pairing with me all week on the billing migration!", ["carol", "dan"]),
    ("bob", "carol", "Customer first", "Stayed late to get the Initech release out on time.", ["alice"]),
    ("carol", "dan", "Mentoring", "Dan's onboarding sessions made my first month easy.", ["alice", "hr"]),
    ("hr", "alice", "Ownership", "Alice took the office move from idea to done.", ["bob"]),
    ("dan", "alice", "Customer first", "Answered every support ticket over the holiday.", []),
]


DEMO_REPORTS = [
    (ReportReason.NOT_RELEVANT, "This is about lunch plans, not about our values."),
    (ReportReason.FRAUD, "I think these two agreed to recognise each other for the Hi5s."),
]


@transaction.atomic
def seed_demo() -> bool:
    """Load the demo; False (and nothing written) when it is already there."""
    if Organization.objects.filter(name="Acme").exists():
        return False
    acme, _ = organization_setup(
        name="Acme",
        domains=["acme.example"],
        hi5_limit=5,
        renewal="weekly",
        timezone_name="Europe/London",
        staff_password_sign_in=True,  # the walkthrough signs hr@ and mod@ in with the demo password
    )
    people = [
        member_create(
            organization=acme,
            email=email,
            first_name=first,
            last_name=last,
            role_id=role,
            password=DEMO_PASSWORD if staff else None,
        )
        for email, first, last, role, staff in DEMO_PEOPLE
    ]
    User.objects.create_superuser("root@peerly.example", DEMO_PASSWORD)
    # This week's quotas are handed out before the demo spends from them (else the worker's first
    # renewal, finding Acme never renewed, would refill what the demo data spent).
    hi5_quotas_renew()
    seed_recognitions_demo(organization=acme, people=people)
    seed_moderation_demo(organization=acme, people=people)
    return True


def seed_recognitions_demo(*, organization: Organization, people: list[User]) -> None:
    """Four core values (one a child of another), five recognitions and a few Hi5s; balances spent accordingly."""
    by_name = {email_local_part(person.email): person for person in people}
    admin = next(person for person in people if person.is_org_admin)
    values = {}
    for text, description, parent in CORE_VALUES:
        values[text] = core_value_create(
            actor=admin,
            org_id=None,
            text=text,
            description=description,
            parent_core_value_id=values[parent].pk if parent else None,
        )
    for giver, receiver, value, text, hi5_from in RECOGNITIONS:
        recognition = recognition_create(
            actor=by_name[giver], given_for=by_name[receiver].pk, core_value_id=values[value].pk, text=text
        )
        for name in hi5_from:
            hi5_give(actor=by_name[name], recognition=recognition, comment="Well deserved!")


def seed_moderation_demo(*, organization: Organization, people: list[User]) -> None:
    """Two open reports, each by a member who neither gave nor received the recognition."""
    recognitions = Recognition.objects.filter(organization=organization).order_by("id")[: len(DEMO_REPORTS)]
    for recognition, (mark_as, reason) in zip(recognitions, DEMO_REPORTS, strict=False):
        reporter = next(
            person
            for person in people
            if not person.can_moderate and person.pk not in (recognition.given_by_id, recognition.given_for_id)
        )
        report_create(actor=reporter, recognition=recognition, mark_as=mark_as, reason=reason)
