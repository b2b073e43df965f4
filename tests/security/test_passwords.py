"""Django's password validators are on: weak passwords are refused when an owner creates a
user (API and admin) or sets a password (API: the admin has no password-change page);
nothing is stored."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User

pytestmark = pytest.mark.django_db

WEAK = [
    ("short", "Xy7!a"),  # MinimumLengthValidator
    ("common", "password123"),  # CommonPasswordValidator
    ("numeric", "84123498765"),  # NumericPasswordValidator
    ("like the name", "Nguyen Van An 1"),  # UserAttributeSimilarityValidator (on change: the user is known)
]
STRONG = "Thanh-toan-2026-an-toan!"


@pytest.mark.parametrize(("kind", "weak"), WEAK[:3])
def test_api_user_create_refuses_a_weak_password(owner_client, kind, weak):
    response = owner_client.post(
        "/api/users/", {"email": "nhanvien@acountee.test", "name": "Nhân viên", "password": weak}, format="json"
    )
    assert response.status_code == 400, kind
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "password" in response.json()["error"]["details"]
    assert not User.objects.filter(email="nhanvien@acountee.test").exists()


def test_api_password_change_refuses_one_like_the_users_own_name(owner_client):
    user = User.objects.create_user(email="an.nguyen@acountee.test", password=STRONG, name="Nguyen Van An")
    response = owner_client.patch(f"/api/users/{user.pk}/", {"password": WEAK[3][1]}, format="json")
    assert response.status_code == 400 and "password" in response.json()["error"]["details"]
    user.refresh_from_db()
    assert user.check_password(STRONG)


def test_api_user_create_accepts_a_strong_password(owner_client):
    response = owner_client.post(
        "/api/users/", {"email": "nhanvien@acountee.test", "name": "Nhân viên", "password": STRONG}, format="json"
    )
    assert response.status_code == 201
    assert User.objects.get(email="nhanvien@acountee.test").check_password(STRONG)


@pytest.fixture
def owner_browser(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.mark.parametrize(("kind", "weak"), WEAK[:3])
def test_admin_user_add_refuses_a_weak_password(owner_browser, kind, weak):
    response = owner_browser.post(
        "/admin/accounts/user/add/",
        {
            "email": "nhanvien@acountee.test",
            "name": "Nhân viên",
            "is_active": "on",
            "password1": weak,
            "password2": weak,
        },
    )
    assert response.status_code == 200, kind  # the form again, with the error
    assert response.context["adminform"].form.errors
    assert not User.objects.filter(email="nhanvien@acountee.test").exists()
