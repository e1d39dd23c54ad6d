"""Demo core values and recognitions for `manage.py seed_demo`, written through the services."""

from accounts.models import Organization, User
from corevalues.services import core_value_create
from recognitions.services import hi5_give, recognition_create

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


def seed_recognitions_demo(*, organization: Organization, people: list[User]) -> None:
    """Four core values (one a child of another), five recognitions and a few Hi5s; balances spent accordingly."""
    by_name = {person.email.split("@")[0]: person for person in people}
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
