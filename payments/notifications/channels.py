"""Outbound channels. Today: e-mail through Django's mail backend (SMTP configured by the
environment). A channel builds and sends one message and raises on failure; the worker in
`services.deliveries_dispatch` decides what a failure means (retry with backoff)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from accounts.middleware import user_language
from payments.notifications.models import Notification


def recipient_language(user: Any) -> str:
    """The language a notification speaks to `user`: their choice, else LANGUAGE_CODE (there is
    no browser to ask when the outbox writes it or the worker sends it)."""
    return user_language(user) or settings.LANGUAGE_CODE


def pr_admin_url(pr_id: int) -> str:
    """The PR's page in the admin, rooted at ADMIN_BASE_URL (the worker has no request)."""
    path = reverse("admin:payments_paymentrequest_change", args=[pr_id])
    return settings.ADMIN_BASE_URL.rstrip("/") + path


def email_message(
    notification: Notification, *, address: str, delivery_id: int | None = None, connection: Any = None
) -> EmailMultiAlternatives:
    """Plain-text and HTML bodies with a link to the PR in the admin."""
    context = {
        "notification": notification,
        "recipient": notification.recipient,
        "url": pr_admin_url(notification.pr_id),
    }
    with translation.override(recipient_language(notification.recipient)):
        text = render_to_string("notifications/email.txt", context)
        html = render_to_string("notifications/email.html", context)
    headers = {"X-Acountee-Notification": str(notification.pk)}
    if delivery_id is not None:
        headers["X-Acountee-Delivery"] = str(delivery_id)
    message = EmailMultiAlternatives(
        subject=notification.title,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


def send_email(notification: Notification, *, address: str, delivery_id: int | None, connection: Any) -> None:
    """Send one e-mail; raises whatever the backend raises (refused connection, bad address…)."""
    sent = email_message(notification, address=address, delivery_id=delivery_id, connection=connection).send()
    if sent != 1:
        raise RuntimeError("the mail backend accepted no message")
