"""Admin: the audit list is read-only with filters and search; AuditHistoryMixin shows an
object's history (who, when, old → new)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import Team
from audit.admin import AuditHistoryMixin
from audit.context import acting_as, request_context
from audit.models import AuditEntry
from tests.accounts.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


class TeamHistoryAdmin(AuditHistoryMixin, admin.ModelAdmin):
    readonly_fields = ["audit_history"]


def test_audit_changelist_filters_search_and_is_read_only(client, owner):
    team = TeamFactory(name="Searchable")
    client.force_login(owner)
    url = reverse("admin:audit_auditentry_changelist")
    response = client.get(url, {"table_name__exact": "teams", "q": str(team.pk)})
    assert response.status_code == 200
    row = response.content.decode().split('class="field-table_display"')[1].split("</tr>")[0]
    assert ">Teams<" in row and f"#{team.pk}" in row  # the table as people call it, not `teams`
    entry = AuditEntry.objects.filter(table_name="teams", record_id=str(team.pk)).first()
    assert client.get(reverse("admin:audit_auditentry_change", args=[entry.pk])).status_code == 200
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_audit_changelist_needs_the_view_permission(client):
    nobody = UserFactory()
    client.force_login(nobody)
    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 403


def test_history_mixin_shows_who_when_and_old_to_new(owner):
    editor = UserFactory(email="editor@acountee.test")
    with acting_as(editor):
        team = TeamFactory(name="Old name")
        Team.objects.filter(pk=team.pk).update(name="New name")
    model_admin = TeamHistoryAdmin(Team, admin.site)
    request = RequestFactory().get("/")
    request.user = owner
    response = model_admin.history_view(request, str(team.pk))
    response.render()
    html = response.content.decode()
    assert "editor@acountee.test" in html
    assert "Old name" in html and "New name" in html and "→" in html

    with request_context(request):
        fragment = model_admin.audit_history(team)
    assert "Old name" in fragment and "New name" in fragment

    request.user = UserFactory()  # no audit permission: nothing shown, history refused
    with request_context(request):
        assert model_admin.audit_history(team) == ""
    with pytest.raises(Exception) as excinfo:
        model_admin.history_view(request, str(team.pk))
    assert excinfo.type.__name__ == "PermissionDenied"


def test_the_log_names_tables_and_actions_in_the_readers_language(client, owner):
    from accounts.models import User

    TeamFactory(name="Kế toán")
    User.objects.filter(pk=owner.pk).update(language="vi")
    client.force_login(User.objects.get(pk=owner.pk))
    html = client.get(reverse("admin:audit_auditentry_changelist"), {"table_name__exact": "teams"}).content.decode()
    row = html.split('class="field-table_display"')[1].split("</tr>")[0]
    assert ">teams<" not in row and ">INSERT<" not in html.split('class="field-action_display"')[1].split("</td>")[0]
    sidebar = html.split('id="changelist-filter"')[1]
    assert "?table_name__exact=teams" in sidebar and ">teams<" not in sidebar  # choices by label, read from the models


def test_a_long_history_shows_the_latest_entries_and_links_to_the_rest(owner, monkeypatch):
    import audit.admin

    team = TeamFactory(name="v0")
    for version in range(1, 4):
        Team.objects.filter(pk=team.pk).update(name=f"v{version}")  # four entries in all
    model_admin = TeamHistoryAdmin(Team, admin.site)
    request = RequestFactory().get("/")
    request.user = owner
    history_url = reverse("admin:accounts_team_history", args=[team.pk])

    with request_context(request):
        complete = model_admin.audit_history(team)
    assert "v0" in complete and history_url not in complete  # short: all of it, no link

    monkeypatch.setattr(audit.admin, "HISTORY_ROWS_ON_CHANGE_PAGE", 2)
    monkeypatch.setattr(audit.admin, "HISTORY_ROWS_ON_HISTORY_PAGE", 3)
    with request_context(request):
        latest = model_admin.audit_history(team)
    assert "v3" in latest and "v0" not in latest  # the latest two: v1 → v2, v2 → v3
    assert latest.count("<tr>") == 1 + 2 and f'href="{history_url}"' in latest

    response = model_admin.history_view(request, str(team.pk))
    response.render()
    html = response.content.decode()
    table = html.split('<table class="audit-history">')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + 3  # the header row and the latest three
    assert "The latest 3 entries." in html
    log_url = reverse("admin:audit_auditentry_changelist") + f"?table_name__exact=teams&amp;q={team.pk}"
    assert log_url in html  # the owner may read the log: the rest is there
