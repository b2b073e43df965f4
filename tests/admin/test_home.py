"""The admin home: "what needs me" counts that link to the filtered lists, per persona, in a fixed number of
queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments import services
from payments.admin.home import needs_me
from payments.notifications.models import NotificationDelivery
from tests.approvals.factories import approver_users
from tests.notifications.factories import audit_row_delivery
from tests.payments.factories import make_invoice, make_pr

pytestmark = pytest.mark.django_db
HOME_QUERIES = 12  # the whole /admin/ page for an owner: session, user, permissions, blocks, reports, app list


def block(html: str, key: str) -> tuple[str, int] | None:
    m = re.search(rf'<li id="needs-me-{key}"><a href="([^"]+)">[^<]*</a><span [^>]*data-count="(\d+)"', html)
    return (m.group(1).replace("&amp;", "&"), int(m.group(2))) if m else None


@pytest.fixture
def dataset(maker, owner):
    a, b = approver_users(2)
    for i in range(3):
        make_pr(maker=maker, steps=[("anyof", [a])], request=True, name=f"Chờ duyệt {i}")
    make_pr(maker=maker, steps=[("anyof", [b])], request=True, name="Của người khác")
    make_pr(maker=maker, steps=[("anyof", [a])], name="Nháp 1")
    make_pr(maker=maker, steps=[("anyof", [a])], name="Nháp 2")
    approved = make_pr(maker=maker, steps=[("anyof", [a])], request=True, name="Đã duyệt")
    services.payment_request_approve(pr=approved, actor=a)
    for _ in range(4):
        make_invoice()
    delivery = audit_row_delivery()
    NotificationDelivery.objects.filter(pk=delivery.pk).update(status="failed")
    return a


def test_counts_and_links_follow_the_filters(dataset, maker, owner, admin_client_for):
    approver = dataset
    html = admin_client_for(approver).get("/admin/").content.decode()
    url, count = block(html, "awaiting")
    assert count == 3
    listing = admin_client_for(approver).get(url).content.decode()
    assert all(f"Chờ duyệt {i}" in listing for i in range(3))
    assert "Của người khác" not in listing
    assert block(html, "drafts") is None and block(html, "failed-deliveries") is None  # bod makes no PRs

    html = admin_client_for(maker).get("/admin/").content.decode()
    url, count = block(html, "drafts")
    assert count == 2
    listing = admin_client_for(maker).get(url).content.decode()
    assert "Nháp 1" in listing and "Nháp 2" in listing and "Chờ duyệt 0" not in listing
    url, count = block(html, "approved")
    assert count == 1 and "Đã duyệt" in admin_client_for(maker).get(url).content.decode()
    url, count = block(html, "unlinked")
    assert count == 4  # the demo PRs are advanced: every invoice is free
    assert admin_client_for(maker).get(url).status_code == 200
    assert block(html, "failed-deliveries") is None

    html = admin_client_for(owner).get("/admin/").content.decode()
    url, count = block(html, "failed-deliveries")
    assert count == 1 and admin_client_for(owner).get(url).status_code == 200


def test_outsider_sees_no_block(outsider, admin_client_for):
    html = admin_client_for(outsider).get("/admin/").content.decode()
    assert 'id="needs-me"' not in html


def test_needs_me_runs_three_queries_for_an_owner(owner, dataset, django_assert_num_queries):
    owner.has_perm("payments.view_paymentrequest")  # permissions are cached on the user after the first check
    with django_assert_num_queries(3):
        items = needs_me(owner)
    assert [i.key for i in items] == ["awaiting", "drafts", "approved", "unlinked", "failed-deliveries"]


def test_home_page_query_count_does_not_grow_with_data(owner, maker, admin_client_for):
    def count() -> int:
        client = admin_client_for(owner)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/admin/").status_code == 200
        return len(ctx.captured_queries)

    count()  # warms per-process caches (content types), so the pin holds in any test order
    empty = count()
    (a,) = approver_users(1)
    for i in range(5):
        make_pr(maker=maker, steps=[("anyof", [a])], request=bool(i % 2), name=f"PR {i}")
        make_invoice()
    assert count() == empty == HOME_QUERIES


def test_each_count_is_the_count_of_the_list_it_opens_for_every_persona(
    dataset, maker, owner, finance, admin_client_for
):
    """The home never contradicts the lists: each block's number is what its link lists (issue: the home said
    24 invoices to bundle where the list showed 0)."""
    approver = dataset
    make_invoice()  # an older import is still waiting too: the block counts what waits, not a month's share
    for persona in (approver, maker, owner, finance):
        client = admin_client_for(persona)
        html = client.get("/admin/").content.decode()
        keys = re.findall(r'<li id="needs-me-([a-z-]+)">', html)
        assert keys, persona
        for key in keys:
            url, count = block(html, key)
            listing = client.get(url)
            assert listing.status_code == 200, (persona, key)
            assert listing.context["cl"].result_count == count, (persona.email, key, url)
