"""GET /users keeps its answers in the cache under the organisation's member directory version: reused
until a member changes, by whatever path, and never stale after a committed change.

The version moves when the change commits (accounts/migrations/0007), so these tests commit (transactional)."""

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts import services
from accounts.models import MemberDirectoryVersion, Organization, Role, User
from accounts.selectors import USER_ROW_FIELDS
from accounts.serializers import UserSerializer
from accounts.tests.backoffice import admin_url, form_data
from accounts.tests.factories import UserFactory
from corevalues.tests.factories import CoreValueFactory
from integrations.services import api_key_create
from recognitions.services import hi5_quotas_renew
from recognitions.tests.factories import RecognitionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def listing(client, query: str = "") -> dict:
    response = client.get(f"/users?limit=100{query}")
    assert response.status_code == 200, response.content
    return response.json()


def members(client, query: str = "") -> dict[int, dict]:
    return {item["id"]: item for item in listing(client, query)["data"]}


def queries_of(client, query: str = "") -> int:
    with CaptureQueriesContext(connection) as queries:
        listing(client, query)
    return len(queries)


def version(organization) -> int:
    row = MemberDirectoryVersion.objects.filter(organization=organization).first()
    return row.version if row is not None else 0


@pytest.fixture
def observer(organization, as_user):
    """A member reading the list; its answer cached before each change below."""
    UserFactory.create_batch(3, organization=organization)
    client = as_user(UserFactory(organization=organization, first_name="Olive"))
    listing(client)
    assert queries_of(client) == 1, "a second read is served from the cache (the token check only)"
    return client


class TestCache:
    def test_a_cached_answer_is_the_uncached_one(self, organization, as_user, employee):
        UserFactory.create_batch(12, organization=organization)
        client = as_user(employee)
        for query in ("", "&limit=5&offset=5", "&starts_with=a", "&offset=100"):
            first = listing(client, query)
            assert queries_of(client, query) == 1
            assert listing(client, query) == first

    def test_a_page_past_the_end_still_has_the_exact_total(self, organization, as_user, employee):
        UserFactory.create_batch(4, organization=organization)
        meta = listing(as_user(employee), "&offset=50")["meta"]
        assert meta == {"total": 5, "limit": 100, "offset": 50, "next": None}

    def test_deleted_members_never_listed_and_totals_exact(self, organization, as_user, employee):
        gone = UserFactory(organization=organization, deleted=True)
        body = listing(as_user(employee))
        assert gone.pk not in {item["id"] for item in body["data"]}
        assert body["meta"]["total"] == 1

    def test_organisations_never_share_answers(self, as_user, employee, outsider):
        assert set(members(as_user(employee))) == {employee.pk}
        assert set(members(as_user(outsider))) == {outsider.pk}

    def test_the_token_is_still_checked_on_every_request(self, observer, organization, as_user):
        reader = User.objects.get(first_name="Olive")
        services.users_soft_delete(users=User.objects.filter(pk=reader.pk), by=None)
        assert observer.get("/users").status_code == 401

    def test_a_transaction_that_changed_members_reads_them_and_caches_nothing(self, observer, organization):
        member = UserFactory(organization=organization)
        listing(observer)
        with transaction.atomic():  # the version moves only when this commits
            User.objects.filter(pk=member.pk).update(first_name="Uncommitted")
            assert members(observer)[member.pk]["first_name"] == "Uncommitted"
            transaction.set_rollback(True)
        assert members(observer)[member.pk]["first_name"] == member.first_name
        assert queries_of(observer) == 1  # the committed answer, from the cache again

    def test_a_super_admins_list_of_another_organisation_is_read_each_time(self, as_user, super_admin, outsider):
        client = as_user(super_admin)
        listing(client, f"&org_id={outsider.organization_id}")
        assert queries_of(client, f"&org_id={outsider.organization_id}") == 2  # the token check and the page


class TestVersion:
    def test_unrelated_columns_leave_it_alone(self, organization, employee):
        before = version(organization)
        User.objects.filter(pk=employee.pk).update(last_login=timezone.now(), updated_at=timezone.now())
        assert version(organization) == before

    def test_a_rolled_back_change_never_hands_its_version_to_another(self, organization, employee):
        before = version(organization)
        with transaction.atomic():
            User.objects.filter(pk=employee.pk).update(first_name="Rolled")
            assert version(organization) == before, "moved at commit, not before"
            with connection.cursor() as cursor:  # the commit's triggers, fired now
                cursor.execute("SET CONSTRAINTS accounts_member_directory_on_update IMMEDIATE")
            rolled_back = version(organization)
            assert rolled_back != before
            transaction.set_rollback(True)
        assert version(organization) == before
        User.objects.filter(pk=employee.pk).update(first_name="Committed")
        assert version(organization) not in (rolled_back, 0)

    def test_moving_a_member_changes_both_organisations(self, organization, other_organization, employee):
        UserFactory(organization=other_organization)
        before = (version(organization), version(other_organization))
        User.objects.filter(pk=employee.pk).update(organization=other_organization)
        after = (version(organization), version(other_organization))
        assert before[0] != after[0]
        assert before[1] != after[1]

    def test_moved_once_per_organisation_however_many_members_change(self, organization, other_organization):
        UserFactory.create_batch(5, organization=organization)
        UserFactory.create_batch(2, organization=other_organization)
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('accounts_member_directory_version_seq')")
            start = cursor.fetchone()[0]
        with transaction.atomic():  # a statement per member (a renewal of 10,000 balances is one statement)
            for member in User.objects.filter(organization__in=[organization, other_organization]).order_by(
                "organization_id", "pk"
            ):
                User.objects.filter(pk=member.pk).update(hi5_quota_balance=3)
        # one new version each at the commit, from the next two of the sequence
        assert {version(organization), version(other_organization)} == {start + 1, start + 2}

    def test_an_organisation_deleted_with_its_members_commits(self, other_organization):
        UserFactory.create_batch(2, organization=other_organization)
        User.objects.filter(organization=other_organization).update(first_name="Changed")  # moved at commit
        with transaction.atomic():  # its members first (PROTECT), then it: nothing left to move at the commit
            User.objects.filter(organization=other_organization).update(first_name="Leaving")
            User.objects.filter(organization=other_organization).delete()
            other_organization.delete()
        assert not Organization.objects.filter(pk=other_organization.pk).exists()
        assert not MemberDirectoryVersion.objects.filter(organization_id=other_organization.pk).exists()

    def test_a_writer_holds_the_version_only_for_its_commit(self, organization):
        """A spend in a transaction still open does not stop another member of the organisation from spending
        (migration 0006 held the organisation's version row from the first statement to the commit)."""
        spender, other = UserFactory.create_batch(2, organization=organization)
        before = version(organization)
        failures = []

        def other_spends():
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '3s'")
                User.objects.filter(pk=other.pk).update(hi5_quota_balance=F("hi5_quota_balance") - 1)
            except OperationalError as exc:  # the lock timeout
                failures.append(exc)
            finally:
                connection.close()

        with transaction.atomic():
            User.objects.filter(pk=spender.pk).update(hi5_quota_balance=F("hi5_quota_balance") - 1)
            side = threading.Thread(target=other_spends)
            side.start()
            side.join(10)
            assert not side.is_alive()
            assert failures == []
            moved_by_other = version(organization)
            assert moved_by_other != before
        assert version(organization) not in (before, moved_by_other)


class TestEveryChangeShowsAtOnce:
    """Each path that changes a member (name, email, picture, role, balance, active or not, organisation)."""

    def test_own_profile(self, observer, organization, as_user):
        member = UserFactory(organization=organization)
        listing(observer)
        as_user(member).put(
            "/users/me", {"first_name": "Renamed", "last_name": "X", "display_name": "R X"}, format="json"
        )
        assert members(observer)[member.pk]["first_name"] == "Renamed"

    def test_role_change_soft_delete_and_restore(self, observer, organization, as_user, org_admin):
        member = UserFactory(organization=organization)
        admin = as_user(org_admin)
        listing(observer)
        admin.put(f"/users/{member.pk}", {"role_id": Role.MODERATOR}, format="json")
        assert members(observer)[member.pk]["role_id"] == Role.MODERATOR
        admin.delete(f"/users/{member.pk}")
        assert member.pk not in members(observer)
        services.user_restore(actor=org_admin, user=member)
        assert member.pk in members(observer)

    def test_new_member_and_admin_promotion(self, observer, organization):
        listing(observer)
        created = services.member_create(organization=organization, email=f"new@{organization.domains.first()}")
        assert created.pk in members(observer)
        services.organization_admin_ensure(organization=organization, email=created.email)
        assert members(observer)[created.pk]["role_id"] == Role.ORG_ADMIN

    def test_first_google_sign_in(self, observer, organization, api_client, fake_google):
        listing(observer)
        email = f"grace@{organization.domains.first()}"
        token = fake_google.id_token(email=email, given_name="Grace")
        assert api_client.post("/oauth/google", {"id_token": token}, format="json").status_code == 200
        assert "Grace" in {item["first_name"] for item in members(observer).values()}

    def test_spending_and_renewing_balances(self, observer, organization, as_user):
        giver, receiver = UserFactory.create_batch(2, organization=organization)
        core_value = CoreValueFactory(organization=organization)
        listing(observer)
        body = {"given_for": receiver.pk, "core_value_id": core_value.pk, "text": "Thanks"}
        assert as_user(giver).post("/recognitions", body, format="json").status_code == 201
        assert members(observer)[giver.pk]["hi5_quota_balance"] == organization.hi5_limit - 1
        recognition = RecognitionFactory(organization=organization, core_value=core_value)
        assert as_user(receiver).post(f"/recognitions/{recognition.pk}/hi5", {}, format="json").status_code == 201
        assert members(observer)[receiver.pk]["hi5_quota_balance"] == organization.hi5_limit - 1
        hi5_quotas_renew(now=timezone.now() + timedelta(days=40))
        assert {item["hi5_quota_balance"] for item in members(observer).values()} == {organization.hi5_limit}

    def test_hris_sync_api_and_command(self, observer, organization, org_admin, tmp_path):
        domain = organization.domains.first().domain
        _, secret = api_key_create(organization=organization, created_by=org_admin, name="HRIS", scopes=["users:sync"])
        member = UserFactory(organization=organization, email=f"kept@{domain}")
        listing(observer)
        rows = [
            {"email": f"hired@{domain}", "first_name": "Hired", "active": True},
            {"email": member.email, "first_name": "Synced", "last_name": "Name", "active": True},
        ]
        hris = APIClient(HTTP_ACCEPT="application/vnd.peerly.v1")
        hris.credentials(HTTP_X_API_KEY=secret)
        response = hris.post("/users/sync", {"users": rows}, format="json")
        assert response.status_code == 200, response.content
        names = {item["first_name"] for item in members(observer).values()}
        assert {"Hired", "Synced"} <= names
        csv = tmp_path / "people.csv"
        csv.write_text(f"email,first_name,last_name,active\n{member.email},Commanded,Name,false\n")
        call_command("sync_users", organization.name, str(csv), stdout=io.StringIO(), stderr=io.StringIO())
        assert member.pk not in members(observer)

    def test_the_back_office(self, client, home, as_user):
        observer = as_user(home.employee)
        listing(observer)
        client.force_login(home.org_admin)
        url = admin_url(User, "change", home.moderator.pk)
        data = form_data(client.get(url))
        data["display_name"] = "Renamed In Admin"
        assert client.post(url, data).status_code == 302
        assert members(observer)[home.moderator.pk]["display_name"] == "Renamed In Admin"
        users = admin_url(User, "changelist")
        client.post(users, {"action": "soft_delete_users", "_selected_action": [str(home.moderator.pk)]})
        assert home.moderator.pk not in members(observer)
        client.post(users, {"action": "restore_users", "_selected_action": [str(home.moderator.pk)]})
        assert home.moderator.pk in members(observer)

    def test_any_other_write_whatever_its_path(self, observer, organization):
        member = UserFactory(organization=organization)
        listing(observer)
        with connection.cursor() as cursor:  # not even the ORM: the database moves the version itself
            cursor.execute("UPDATE accounts_user SET email = 'raw@x.example' WHERE id = %s", [member.pk])
        assert members(observer)[member.pk]["email"] == "raw@x.example"
        User.objects.filter(pk=member.pk).update(profile_image_url="https://x.example/p.png")
        assert members(observer)[member.pk]["profile_image_url"] == "https://x.example/p.png"
        User.objects.filter(pk=member.pk).delete()
        assert member.pk not in members(observer)

    def test_the_demo(self):
        call_command("seed_demo", stdout=io.StringIO())
        acme = Organization.objects.get(name="Acme")
        assert version(acme) != 0  # its members' inserts moved it


def test_members_render_as_drfs_generic_serializer_would(organization, org_admin):
    # given: members of every kind, as instances and as the member search's rows
    people = [
        UserFactory(organization=organization, profile_image_url="https://cdn.example/p.png"),
        UserFactory(super_admin=True),
        UserFactory(organization=organization, deleted=True),
    ]
    services.users_soft_delete(users=User.objects.filter(pk=people[0].pk), by=org_admin)
    for person in User.objects.filter(pk__in=[p.pk for p in people]):
        generic = serializers.ModelSerializer.to_representation(UserSerializer(), person)
        row = User.objects.filter(pk=person.pk).values(*USER_ROW_FIELDS).get()
        # then
        assert UserSerializer(person).data == UserSerializer(row).data == generic


def test_migration_0007_reverses_to_0006s_triggers(organization, employee):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0006_member_directory_version")])
    try:
        with transaction.atomic():
            before = version(organization)
            User.objects.filter(pk=employee.pk).update(first_name="Reversed")
            assert version(organization) != before  # 0006: moved in the statement itself
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    with transaction.atomic():
        before = version(organization)
        User.objects.filter(pk=employee.pk).update(first_name="Forward")
        assert version(organization) == before  # 0007 again: at commit
    assert version(organization) != before
