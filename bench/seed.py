"""Seed one organisation for the benchmark: people and core values through the ORM, recognitions and Hi5s
generated inside PostgreSQL (INSERT ... SELECT over generate_series: a million rows in well under a minute).

Distribution: givers, receivers and Hi5 givers drawn uniformly among the members; `given_at` spread uniformly
over the last three years and ids increasing with it (as if given over time); 0 to 4 Hi5s per recognition
(2 on average), never from the giver or the receiver, at most one per person. A few members (`bench_users`)
are kept out of the seeded data and get a large balance: the write benchmarks recognise and Hi5 as them, so
every Hi5 they give is a first one and their quota never stops the run.
"""

from dataclasses import dataclass

from django.db import connection, transaction

from accounts.models import Organization, OrganizationDomain, Role, User
from corevalues.models import CoreValue
from recognitions.models import Recognition

FIRST_NAMES = (  # noqa: SIM905
    "Ada Alan Alice Amir Ana Anna Ben Carla Chen David Diego Elena Emma Fatima Felix Grace Hana Hugo Ines "
    "Ivan Jack James Julia Kai Karin Lars Leila Liam Lucia Maria Mark Marta Martin Maya Mohamed Nina Noah "
    "Olga Omar Paula Pedro Priya Rafael Rosa Sam Sara Sofia Tom Yara Yusuf"
).split()
LAST_NAMES = (  # noqa: SIM905
    "Adams Almeida Baker Bianchi Brown Carter Chen Costa Dubois Evans Fischer Garcia Gomez Green Hall "
    "Hansen Ivanova Jensen Kim Klein Kowalski Larsen Lopez Martin Meyer Moreau Muller Nakamura Nguyen "
    "Novak Okafor Olsen Patel Perez Quinn Rossi Santos Schmidt Silva Singh Smith Sousa Tanaka Taylor "
    "Vogel Wagner Walker Weber Wilson Young"
).split()
VALUES = (
    "Customer first",
    "Ownership",
    "Teamwork",
    "Mentoring",
    "Bias for action",
    "Frugality",
    "Curiosity",
    "Candour",
    "Craftsmanship",
    "Inclusion",
    "Learn and share",
    "Deliver results",
    "Think big",
    "Simplicity",
    "Trust",
    "Courage",
    "Kindness",
    "Quality",
    "Sustainability",
    "Have fun",
)
TEXTS = (
    "Thanks for pairing with me all week on the billing migration!",
    "Stayed late to get the release out on time, and kept everyone calm.",
    "Your onboarding sessions made my first month easy.",
    "Took the office move from idea to done without being asked.",
    "Answered every support ticket over the holiday.",
    "Great demo today: clear, honest about the trade-offs, and fun.",
    "Found the root cause of the flaky tests that had bugged us for months.",
    "Reviewed my pull request within the hour with really useful comments.",
    "Thank you for covering my on-call shift at such short notice.",
    "The new dashboard saves the whole team an hour every Monday.",
    "You made the customer workshop a success: they signed the renewal!",
    "Always the first to help a colleague who is stuck.",
)

BENCH_BALANCE = 1_000_000


@dataclass(frozen=True)
class SeedInfo:
    organization_id: int
    member_ids: list[int]  # users who appear in the seeded recognitions and Hi5s
    bench_user_ids: list[int]  # kept out of them, with a large balance
    core_value_ids: list[int]
    recognitions: int
    hi5s: int


def seed(
    *, recognitions: int, users: int = 10_000, core_values: int = 20, bench_users: int = 100, vacuum: bool = True
) -> SeedInfo:
    """One organisation of `users` people (the last `bench_users` of them kept for the write benchmarks),
    `core_values` values, `recognitions` recognitions and about twice as many Hi5s; then VACUUM ANALYZE
    (`vacuum=False` inside a transaction, where VACUUM cannot run)."""
    if users - bench_users < 3 or core_values > len(VALUES):
        raise ValueError("need at least 3 members besides the bench users, and at most 20 core values")
    with transaction.atomic():
        organization = Organization.objects.create(name="Bench Corp", contact_email="hr@bench.example")
        OrganizationDomain.objects.create(organization=organization, domain="bench.example")
        people = []
        for n in range(users):
            first_name = FIRST_NAMES[n % len(FIRST_NAMES)]
            last_name = LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]
            people.append(
                User(
                    email=f"user{n}@bench.example",
                    first_name=first_name,
                    last_name=last_name,
                    display_name=f"{first_name} {last_name}",
                    organization=organization,
                    role_id=Role.EMPLOYEE,
                    hi5_quota_balance=BENCH_BALANCE if n >= users - bench_users else organization.hi5_limit,
                    password="!",  # unusable: these people never sign in to the admin
                )
            )
        User.objects.bulk_create(people, batch_size=2000)
        values = CoreValue.objects.bulk_create(
            CoreValue(organization=organization, text=text, description=f"We value {text.lower()}.")
            for text in VALUES[:core_values]
        )
    user_ids = sorted(User.objects.filter(organization=organization).values_list("id", flat=True))
    members, kept = user_ids[: users - bench_users], user_ids[users - bench_users :]
    value_ids = [value.pk for value in values]
    params = {
        "org": organization.pk,
        "n": recognitions,
        "members": members,
        "pool": len(members),
        "values": value_ids,
        "nvalues": len(value_ids),
        "texts": list(TEXTS),
        "ntexts": len(TEXTS),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        # `step` in [1, pool - 1] makes the receiver differ from the giver; ordered by given_at so ids grow with
        # time, as in a table filled over the years.
        cursor.execute(
            """
            WITH drawn AS MATERIALIZED (  -- each random draw made once per row, whatever the plan
                SELECT floor(random() * %(pool)s)::int AS giver,
                       1 + floor(random() * (%(pool)s - 1))::int AS step,
                       floor(random() * %(nvalues)s)::int AS value_index,
                       floor(random() * %(ntexts)s)::int AS text_index,
                       now() - random() * interval '1095 days' AS given_at
                FROM generate_series(1, %(n)s)
            )
            INSERT INTO recognitions_recognition
                (organization_id, core_value_id, given_by_id, given_for_id, text, given_at, is_hidden)
            SELECT %(org)s,
                   (%(values)s::bigint[])[1 + value_index],
                   (%(members)s::bigint[])[1 + giver],
                   (%(members)s::bigint[])[1 + (giver + step) %% %(pool)s],
                   (%(texts)s::text[])[1 + text_index],
                   given_at,
                   false
            FROM drawn
            ORDER BY given_at
            """,
            params,
        )
        # 0..4 Hi5s each from consecutive members after a random one: distinct people; the giver and the
        # receiver are skipped.
        cursor.execute(
            """
            WITH r AS MATERIALIZED (
                SELECT id, given_by_id, given_for_id, given_at,
                       floor(random() * 5)::int AS hi5s, floor(random() * %(pool)s)::int AS base
                FROM recognitions_recognition WHERE organization_id = %(org)s
            )
            INSERT INTO recognitions_hi5 (recognition_id, given_by_id, comment, given_at)
            SELECT r.id, (%(members)s::bigint[])[1 + (r.base + j) %% %(pool)s], '',
                   least(now(), r.given_at + random() * interval '3 days')
            FROM r
            CROSS JOIN LATERAL generate_series(0, r.hi5s - 1) AS j
            WHERE (%(members)s::bigint[])[1 + (r.base + j) %% %(pool)s] NOT IN (r.given_by_id, r.given_for_id)
            """,
            params,
        )
        hi5s = cursor.rowcount
        if vacuum:
            for table in (
                "accounts_user",
                "recognitions_recognition",
                "recognitions_hi5",
                "recognitions_recognitioncounter",
                "insights_organizationday",
                "insights_memberdays",
                "insights_membervaluedays",
                "insights_givercount",
            ):
                # VACUUM sets the visibility map (index-only scans), ANALYZE the planner's statistics.
                cursor.execute(f"VACUUM ANALYZE {table}")
    return SeedInfo(
        organization_id=organization.pk,
        member_ids=members,
        bench_user_ids=kept,
        core_value_ids=value_ids,
        recognitions=Recognition.objects.filter(organization=organization).count(),
        hi5s=hi5s,
    )
