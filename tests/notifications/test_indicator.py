"""The header's unread-notification indicator: on every admin page, without a query of its own (the script
reads the count from the notifications API with the page's session)."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from payments.notifications.models import Notification
from tests.payments.factories import make_pr

pytestmark = pytest.mark.django_db


def test_every_admin_page_carries_the_indicator_and_the_api_gives_its_count(maker):
    pr = make_pr(maker=maker)
    client = Client()
    client.force_login(maker)
    for url in ("/admin/", "/admin/payments/paymentrequest/", f"/admin/payments/paymentrequest/{pr.pk}/change/"):
        html = client.get(url).content.decode()
        link = re.search(r'<a id="unread-notifications" href="([^"]+)"\s+data-count-url="([^"]+)"', html)
        assert link, url
        assert 'src="/static/payments/unread_notifications.js"' in html
    listing, count_url = link.group(1), link.group(2).replace("&amp;", "&")
    # (after the pages: opening a request's page reads its notifications)
    Notification.objects.create(recipient=maker, kind="approved", pr=pr, title="Đã duyệt", in_app=True)
    Notification.objects.create(recipient=maker, kind="completed", pr=pr, title="Đã chi", in_app=True)
    assert client.get(count_url).json()["unread_count"] == 2  # the session is enough: no token
    assert client.get(listing).status_code == 200
    assert finders.find("payments/unread_notifications.js")
