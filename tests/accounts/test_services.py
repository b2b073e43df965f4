"""Owner protections and role assignment rules (docs/accounts.md)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from accounts import services
from accounts.models import Role, Team, User, UserRole
from acountee.errors import AcounteeError, Duplicate, NotFoundError, ProtectedError, ValidationFailed
from tests.accounts.factories import RoleFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_createsuperuser_path_yields_an_owner():
    user = User.objects.create_superuser(email="Boss@Acountee.Test", password="x")
    assert user.is_owner
    assert user.email == "Boss@acountee.test"


def test_duplicate_email_is_refused_case_insensitively(finance):
    with pytest.raises(Duplicate) as exc:
        services.user_create(email=finance.email.upper())
    assert exc.value.code == "DUPLICATE_EMAIL"
    assert User.objects.filter(email__iexact=finance.email).count() == 1


def test_the_last_owner_cannot_be_deactivated(owner):
    with pytest.raises(ProtectedError) as exc:
        services.user_deactivate(user=owner, actor=owner)
    assert exc.value.code == "LAST_OWNER"
    owner.refresh_from_db()
    assert owner.is_active


def test_an_owner_can_be_deactivated_while_another_remains(owner):
    UserFactory(roles=["owner"])
    services.user_deactivate(user=owner, actor=owner)
    owner.refresh_from_db()
    assert not owner.is_active


def test_an_inactive_second_owner_does_not_count(owner):
    UserFactory(roles=["owner"], is_active=False)
    with pytest.raises(ProtectedError):
        services.role_revoke(user=owner, role=Role.objects.get(name="owner"))


def test_the_last_owner_cannot_lose_the_role(owner):
    with pytest.raises(ProtectedError) as exc:
        services.role_revoke(user=owner, role=Role.objects.get(name="owner"), actor=owner)
    assert exc.value.code == "LAST_OWNER"
    assert UserRole.objects.filter(user=owner, role__name="owner").exists()


def test_the_last_owner_role_cannot_be_given_an_expiry(owner):
    with pytest.raises(ProtectedError):
        services.role_assign(
            user=owner, role=Role.objects.get(name="owner"), expires_at=timezone.now() + timedelta(days=1)
        )


def test_the_owner_role_cannot_be_edited_or_deleted():
    role = Role.objects.get(name="owner")
    with pytest.raises(ProtectedError) as exc:
        services.role_update(role=role, description="changed")
    assert exc.value.code == "OWNER_ROLE_PROTECTED"
    with pytest.raises(ProtectedError):
        services.role_delete(role=role)
    assert Role.objects.get(name="owner").description != "changed"


def test_no_role_inherits_from_owner():
    with pytest.raises(ValidationFailed):
        services.role_create(name="sneaky", parent=Role.objects.get(name="owner"))
    assert not Role.objects.filter(name="sneaky").exists()


def test_a_role_with_assignments_cannot_be_deleted(finance):
    role = RoleFactory()
    UserRole.objects.create(user=finance, role=role)
    with pytest.raises(ProtectedError) as exc:
        services.role_delete(role=role)
    assert exc.value.code == "ROLE_IN_USE"
    assert Role.objects.filter(pk=role.pk).exists()


def test_a_team_with_members_cannot_be_deleted():
    team = TeamFactory()
    UserFactory(team=team)
    with pytest.raises(ProtectedError) as exc:
        services.team_delete(team=team)
    assert exc.value.code == "TEAM_HAS_MEMBERS"
    assert Team.objects.filter(pk=team.pk).exists()


def test_an_empty_team_can_be_deleted():
    team = TeamFactory()
    services.team_delete(team=team)
    assert not Team.objects.filter(pk=team.pk).exists()


def test_assigning_records_who_and_reassigning_updates_expiry(owner, finance):
    role = Role.objects.get(name="bod")
    assignment = services.role_assign(user=finance, role=role, actor=owner)
    assert assignment.assigned_by == owner
    later = timezone.now() + timedelta(days=3)
    services.role_assign(user=finance, role=role, actor=owner, expires_at=later)
    assert UserRole.objects.get(user=finance, role=role).expires_at == later
    assert UserRole.objects.filter(user=finance, role=role).count() == 1


def test_an_expiry_in_the_past_is_refused(finance):
    with pytest.raises(ValidationFailed):
        services.role_assign(
            user=finance, role=Role.objects.get(name="bod"), expires_at=timezone.now() - timedelta(minutes=1)
        )
    assert not UserRole.objects.filter(user=finance, role__name="bod").exists()


def test_revoking_a_role_the_user_does_not_hold(finance):
    with pytest.raises(NotFoundError):
        services.role_revoke(user=finance, role=Role.objects.get(name="bod"))


def test_unknown_permissions_are_refused():
    with pytest.raises(ValidationFailed):
        services.role_create(name="auditor", permissions=["audit.no_such_thing"])
    assert not Role.objects.filter(name="auditor").exists()


@pytest.mark.django_db(transaction=True)
def test_two_owners_removing_each_other_at_once_leave_one_owner():
    """The owner role's row lock serialises the check: exactly one revocation succeeds."""
    first = UserFactory(roles=["owner"])
    second = UserFactory(roles=["owner"])
    owner_role = Role.objects.get(name="owner")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def revoke(user: User, actor: User) -> None:
        try:
            barrier.wait()
            services.role_revoke(user=user, role=owner_role, actor=actor)
            outcomes.append("ok")
        except AcounteeError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=revoke, args=(first, second)),
        threading.Thread(target=revoke, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["LAST_OWNER", "ok"]
    assert UserRole.objects.filter(role=owner_role).count() == 1
