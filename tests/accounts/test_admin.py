"""The accounts admin goes through the services: owner protections hold there too."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role, Team, User
from tests.accounts.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_admin(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def test_owner_sees_the_accounts_pages(owner_admin, finance):
    for path in [
        "/admin/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{finance.pk}/change/",
        "/admin/accounts/team/",
        "/admin/accounts/role/",
        "/admin/accounts/user/add/",
    ]:
        assert owner_admin.get(path).status_code == 200, path


def test_non_owners_do_not_see_accounts(finance):
    client = Client()
    client.force_login(finance)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 403


def test_owner_adds_a_user_through_the_admin(owner_admin):
    response = owner_admin.post(
        "/admin/accounts/user/add/",
        {
            "email": "moi@acountee.test",
            "name": "Người mới",
            "team": "",
            "is_active": "on",
            "password1": "Str0ng-Passw0rd!",
            "password2": "Str0ng-Passw0rd!",
        },
    )
    assert response.status_code == 302, response.content
    user = User.objects.get(email="moi@acountee.test")
    assert user.check_password("Str0ng-Passw0rd!")


def test_deactivating_the_last_owner_in_the_admin_shows_an_error(owner_admin, owner):
    response = owner_admin.post(
        f"/admin/accounts/user/{owner.pk}/change/",
        {
            "email": owner.email,
            "name": owner.name,
            "team": "",
            "user_roles-TOTAL_FORMS": "1",
            "user_roles-INITIAL_FORMS": "1",
            "user_roles-MIN_NUM_FORMS": "0",
            "user_roles-MAX_NUM_FORMS": "1000",
        },
        follow=True,
    )
    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.is_active
    assert any("owner" in str(m).lower() for m in response.context["messages"])


def test_deleting_a_team_with_members_in_the_admin_keeps_it(owner_admin):
    team = TeamFactory()
    UserFactory(team=team)
    response = owner_admin.post(f"/admin/accounts/team/{team.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert Team.objects.filter(pk=team.pk).exists()


def test_the_owner_role_is_read_only_in_the_admin(owner_admin):
    role = Role.objects.get(name="owner")
    response = owner_admin.get(f"/admin/accounts/role/{role.pk}/change/")
    assert response.status_code == 200
    assert b'name="name"' not in response.content


def test_a_refused_save_shows_only_the_refusal(owner_admin, owner):
    response = owner_admin.post(
        f"/admin/accounts/user/{owner.pk}/change/",
        {
            "email": owner.email,
            "name": owner.name,
            "team": "",
            "user_roles-TOTAL_FORMS": "1",
            "user_roles-INITIAL_FORMS": "1",
            "user_roles-MIN_NUM_FORMS": "0",
            "user_roles-MAX_NUM_FORMS": "1000",
        },
        follow=True,
    )
    levels = [m.level_tag for m in response.context["messages"]]
    assert levels == ["error"]


def test_bulk_deleting_teams_goes_through_the_service(owner_admin):
    first, second = TeamFactory(), TeamFactory()
    response = owner_admin.post(
        "/admin/accounts/team/",
        {
            "action": "delete_selected",
            "_selected_action": [first.pk, second.pk],
            "post": "yes",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert not Team.objects.filter(pk__in=[first.pk, second.pk]).exists()


def test_bulk_deleting_a_team_with_members_deletes_nothing(owner_admin):
    empty, busy = TeamFactory(), TeamFactory()
    UserFactory(team=busy)
    response = owner_admin.post(
        "/admin/accounts/team/",
        {
            "action": "delete_selected",
            "_selected_action": [empty.pk, busy.pk],
            "post": "yes",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert Team.objects.filter(pk__in=[empty.pk, busy.pk]).count() == 2


def test_deleting_the_last_owner_from_the_admin_is_refused(owner_admin, owner):
    response = owner_admin.post(f"/admin/accounts/user/{owner.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.is_active
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
