from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Organization, Role, User
from accounts.services import organization_setup

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


class Command(BaseCommand):
    help = "Load demo data (organisation Acme, people, and what other apps add). Safe to run twice."

    @transaction.atomic
    def handle(self, *args, **options):
        if Organization.objects.filter(name="Acme").exists():
            self.stdout.write("Demo data already present")
            return
        acme, _ = organization_setup(
            name="Acme", domains=["acme.example"], hi5_limit=5, renewal="weekly", timezone_name="Europe/London"
        )
        people = {}
        for email, first, last, role, staff in DEMO_PEOPLE:
            people[email] = User.objects.create_user(
                email,
                password=DEMO_PASSWORD if staff else None,
                organization=acme,
                first_name=first,
                last_name=last,
                display_name=f"{first} {last}",
                role_id=role,
                hi5_quota_balance=acme.hi5_limit,
            )
        User.objects.create_superuser("root@peerly.example", DEMO_PASSWORD)
        from recognitions.demo import seed_recognitions_demo

        seed_recognitions_demo(organization=acme, people=list(people.values()))
        from moderation.demo import seed_moderation_demo

        seed_moderation_demo(organization=acme, people=list(people.values()))
        self.stdout.write(self.style.SUCCESS("Demo data loaded: organisation Acme (acme.example)"))
