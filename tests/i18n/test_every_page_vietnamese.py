"""Every back-office page speaks one language (issue 19, "Vietnamese everywhere").

Each persona (owner, maker, chief accountant, director, a user with no role) opens every admin page they
can: the home page, every list, one add, change, history and delete page per model, the payment request
pages in each state (invoices, transition forms, printing), the invoice import, the workbench and the
reports. In `vi` no English message of our catalogues may show in the visible text, nor a raw choice
value where its label belongs; in `en` no Vietnamese message of our catalogues may show. User data
(Vietnamese names, sellers) is left alone: only catalogue texts and choice values are looked for.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from accounts.models import User
from tests.accounts.factories import RoleFactory, TeamFactory, UserFactory
from tests.i18n.po import read_po
from tests.i18n.test_catalogues import locale_apps, po_path

pytestmark = pytest.mark.django_db
REPO = Path(settings.BASE_DIR)

# Texts that read the same in both languages although a catalogue translates them (proper names, codes).
ALLOWED = {
    "vi": {
        "English",  # the language menu names each language in itself
    },
    "en": {
        "Tiếng Việt",  # ditto
        # Words of the dataset's own Vietnamese (payment method and request names: "Tài khoản công ty",
        # "Thanh toán dịch vụ"), which are also the translations of "Accounts" and "Payment".
        "Tài khoản",
        "Thanh toán",
    },
}

# Leaks on invoice pages (/admin/invoices/…): the invoices app is being changed elsewhere; each is reported
# there. (language, text as matched). Empty it as they are fixed.
KNOWN_INVOICE_LEAKS: set[tuple[str, str]] = set()


# --- what the page shows -----------------------------------------------------------------------------------
class VisibleText(HTMLParser):
    """Text a reader sees: element text (not scripts, styles), and the titles, placeholders, labels, alt
    texts and button captions carried in attributes. Each piece is kept apart (a table cell, a link)."""

    SKIP = {"script", "style", "template"}
    ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
            return
        values = dict(attrs)
        for name in self.ATTRIBUTES:
            if values.get(name):
                self.pieces.append(values[name] or "")
        button = tag == "button" or (tag == "input" and (values.get("type") or "") in {"submit", "button", "reset"})
        if button and values.get("value"):
            self.pieces.append(values["value"] or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.SKIP:
            self.handle_starttag(tag, attrs)
            if tag in self.SKIP:
                self._skipping -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.pieces.append(data)


def visible_pieces(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    pieces = (" ".join(piece.split()) for piece in parser.pieces)
    return [piece for piece in pieces if piece]


# --- our catalogues ----------------------------------------------------------------------------------------
_PLACEHOLDER = re.compile(r"(%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|\{[A-Za-z_0-9]*\})")
_NUMBER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[diuxXeEfFgG]$")


@dataclass(frozen=True)
class Text:
    """One catalogue text as it may show in a page: placeholders match anything short."""

    text: str
    other: str  # what the other language says instead
    pattern: re.Pattern[str]
    probe: str  # its longest literal part, lower-cased: a cheap test before the pattern


def _significant(literal: str) -> bool:
    words = re.findall(r"\w+", literal)
    return len(words) >= 2 or len("".join(words)) >= 8


def _text(text: str, other: str) -> Text | None:
    text = " ".join(text.split())
    split = _PLACEHOLDER.split(text.replace("%%", "%"))
    parts, holes = split[::2], split[1::2]
    literal = " ".join(p for p in parts if p.strip())
    if not _significant(literal):
        return None
    # A number stands for digits; anything else for a short run of text on the same line.
    body = re.escape(parts[0]) + "".join(
        (r"\d[\d.,]*" if _NUMBER.match(hole) else r"[^\n]{1,120}?") + re.escape(part)
        for hole, part in zip(holes, parts[1:], strict=True)
    )
    pattern = re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)
    return Text(text, other, pattern, max(parts, key=len).strip().lower())


def catalogues() -> list[Path]:
    paths = [po_path(REPO, app) for app in locale_apps()]
    for extra in ("locale_django", "locale_thirdparty"):
        path = REPO / "acountee" / extra / "vi" / "LC_MESSAGES" / "django.po"
        if path not in paths:
            paths.append(path)
    return paths


@functools.cache
def foreign_texts(language: str) -> tuple[Text, ...]:
    """The texts that must not show in a `language` page: in `vi` the English msgids whose Vietnamese
    differs, in `en` those Vietnamese translations."""
    found: dict[str, Text] = {}
    for path in catalogues():
        for entry in read_po(path):
            vietnamese = entry.msgstrs.get(0, "")
            english = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural else [])
            for msgid in english:
                # Not a leak: the same in both languages, or a translation that keeps the English in it
                # ("trình duyệt (user agent)").
                if " ".join(msgid.split()).lower() in " ".join(vietnamese.split()).lower():
                    continue
                text = _text(msgid, vietnamese) if language == "vi" else _text(vietnamese, msgid)
                if text is not None and text.text not in ALLOWED[language]:
                    found.setdefault(text.text.lower(), text)
    return tuple(found.values())


@functools.cache
def own_texts(language: str) -> frozenset[str]:
    """The page language's own messages: a piece that is one ("approved", a decision in English) is no raw value."""
    texts: set[str] = set()
    for path in catalogues():
        for entry in read_po(path):
            texts.update([entry.msgid] if language == "en" else entry.msgstrs.values())
    return frozenset(texts)


@functools.cache
def choice_values() -> dict[str, list[Any]]:
    """Every stored choice value of our models, with the labels it stands for."""
    values: dict[str, list[Any]] = {}
    for model in apps.get_models():
        if model._meta.app_label in {"admin", "auth", "contenttypes", "sessions"}:
            continue
        for field in model._meta.get_fields():
            for value, label in getattr(field, "flatchoices", None) or []:
                if isinstance(value, str) and value:
                    values.setdefault(value, []).append(label)
    return values


def is_data(piece: str, url: str) -> bool:
    """Recorded data shown as such: the audit log's rows (JSON) and changes (old → new) are what was written,
    in whatever language it was written."""
    if url.startswith("/admin/audit/auditentry/"):
        return (piece.startswith("{") and piece.endswith("}")) or "→" in piece
    # A notification is written once, in its recipient's language of the day (docs/notifications.md): the
    # dataset's were written in English (no language chosen yet, LANGUAGE_CODE of the tests). Titles and
    # bodies start with the request they name. TODO: check the rest of these pages' pieces strictly.
    if url.startswith("/admin/notifications/notification/"):
        lowered = piece.lower()
        stored = ("payment request", "đề nghị thanh toán", "warning:", "cảnh báo:")
        return any(word in lowered for word in stored) or piece in {
            "approved",
            "rejected",
            "supplier",
            "new payee",
            "new payee account",
        }
    return False


# Found by this test, not fixed yet (no time left in the session that wrote it): the audit log's action
# filter lists the raw action codes (approve, attach_file, complete…). (url, text as matched).
NOT_YET_FIXED: set[tuple[str, str]] = set()


def leaks(html: str, language: str, url: str = "") -> list[str]:
    pieces = [piece for piece in visible_pieces(html) if not is_data(piece, url)]
    text = "\n".join(pieces)
    lowered = text.lower()
    found = []
    for foreign in foreign_texts(language):
        if foreign.probe not in lowered:
            continue
        match = foreign.pattern.search(text)
        if match:
            found.append(f"{match.group(0)!r} (catalogue: {foreign.text!r} / {foreign.other!r})")
    with translation.override(language):
        for piece in set(pieces) - own_texts(language):
            labels = choice_values().get(piece)
            if labels and all(str(label) != piece for label in labels):
                found.append(f"raw choice value {piece!r} (label: {str(labels[0])!r})")
    return found


# --- the data ----------------------------------------------------------------------------------------------
PERSONAS = ("owner", "maker", "chief_accountant", "director", "no_role")


@pytest.fixture
def dataset(db) -> dict[str, Any]:
    """Users with plain names (not catalogue texts), a request in each state with invoices, attachments and
    approvals, a flow, a delegation, notifications, an export template, tokens and audit rows."""
    from approvals import services as approval_services
    from invoices.services import invoice_mark_obsolete
    from payments import services
    from payments.services.payment import payment_request_complete
    from payments.services.returns import payment_request_reject
    from tests.admin.test_changelists import PAGES
    from tests.payments.factories import make_invoice, make_pr

    users = {
        "owner": UserFactory(email="an@acountee.test", name="Nguyễn Văn An", roles=["owner"]),
        "maker": UserFactory(email="binh@acountee.test", name="Trần Thị Bình", roles=["finance"]),
        "chief_accountant": UserFactory(email="cuong@acountee.test", name="Lê Văn Cường", roles=["finance"]),
        "director": UserFactory(email="duc@acountee.test", name="Phạm Minh Đức", roles=["bod"]),
        "no_role": UserFactory(email="em@acountee.test", name="Hoàng Thị Em"),
    }
    maker, chief, director = users["maker"], users["chief_accountant"], users["director"]
    steps = [("anyof", [chief]), ("allof", [director])]
    prs = {"draft": make_pr(maker=maker, steps=steps, type="direct", invoices=[make_invoice()], name="PR nháp")}
    prs["pending"] = make_pr(maker=maker, steps=steps, request=True, name="PR chờ")
    prs["second_step"] = services.payment_request_approve(
        pr=make_pr(maker=maker, steps=steps, type="direct", request=True, name="PR bước hai"), actor=chief
    )
    approved = make_pr(maker=maker, steps=steps, type="direct", request=True, name="PR duyệt")
    approved = services.payment_request_approve(pr=approved, actor=chief)
    prs["approved"] = services.payment_request_approve(pr=approved, actor=director)
    done = make_pr(maker=maker, steps=steps, type="direct", request=True, name="PR xong")
    done = services.payment_request_approve(pr=services.payment_request_approve(pr=done, actor=chief), actor=director)
    prs["completed"] = payment_request_complete(pr=done, actor=maker, payment_reference="UNC-0001")
    rejected = make_pr(maker=maker, steps=steps, request=True, name="PR trả lại")
    prs["rejected"] = payment_request_reject(pr=rejected, actor=chief, reason="Thiếu chứng từ")
    invoices = {"imported": make_invoice()}
    invoices["obsolete"] = invoice_mark_obsolete(invoice=make_invoice(), actor=maker)
    invoices["tampered"] = make_invoice()  # its seller signature failed: the page warns, owners may override
    type(invoices["tampered"]).objects.filter(pk=invoices["tampered"].pk).update(
        seller_signature="invalid",
        signature_details={"seller": {"status": "invalid", "code": "digest", "chain": "not_checked"}},
    )
    approval_services.approval_delegation_create(
        actor=users["owner"],
        approver=director,
        substitute=chief,
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 1, 5),
    )
    ctx = {
        "owner": users["owner"],
        "maker": maker,
        "a": chief,
        "b": director,
        "team": TeamFactory(),
        "role": RoleFactory(),
    }
    for _url, build in PAGES.values():  # one row of every list (flows, users, tokens, files, deliveries…)
        build(ctx)
    return {"users": users, "prs": prs, "invoices": invoices}


# --- the pages ---------------------------------------------------------------------------------------------
def _url(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def admin_pages(data: dict[str, Any]) -> list[str]:
    from payments.reports import registry

    urls = ["/admin/", "/admin/password_change/"]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls += [_url(f"{prefix}_changelist"), _url(f"{prefix}_add")]
        obj = model._default_manager.order_by("pk").first() if model._meta.managed else None
        if obj is not None:
            urls += [_url(f"{prefix}_{page}", obj.pk) for page in ("change", "history", "delete")]
    for pr in data["prs"].values():
        urls += [
            _url("admin:payments_paymentrequest_change", pr.pk),
            _url("admin:payments_paymentrequest_invoices", pr.pk),
            _url("admin:payments_paymentrequest_print", pr.pk),
        ]
    prs = data["prs"]
    urls += [
        _url("admin:payments_paymentrequest_action", prs["pending"].pk, "reject"),
        _url("admin:payments_paymentrequest_action", prs["approved"].pk, "complete"),
        _url("admin:payments_paymentrequest_action", prs["completed"].pk, "uncomplete"),
        _url("admin:payments_paymentrequest_print_month"),
        _url("admin:payments_paymentrequest_print_month_forms", f"{prs['completed'].created_at:%Y-%m}"),
    ]
    for invoice in data["invoices"].values():
        urls.append(_url("admin:invoices_invoice_change", invoice.pk))
    urls.append(_url("admin:invoices_invoice_signature_override", data["invoices"]["tampered"].pk))
    urls += [_url("admin:invoices_invoice_import"), _url("admin:workbench_tools"), _url("admin:workbench_export")]
    urls += [_url("admin:reports_report_changelist")]
    urls += [_url("admin:reports_report_detail", key) for key in registry.REPORTS]
    urls.append(_url("admin:accounts_user_password_change", data["users"]["maker"].pk))
    return list(dict.fromkeys(url for url in urls if url))


def scan(client: Client, urls: Iterable[str], language: str, persona: str) -> tuple[int, list[str]]:
    covered, failures = 0, []
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        assert f'<html lang="{language}"' in html, (url, persona)
        covered += 1
        for leak in leaks(html, language, url):
            text = leak.split("'")[1]
            if url.startswith("/admin/invoices/") and (language, text) in KNOWN_INVOICE_LEAKS:
                continue
            if (url, text) in NOT_YET_FIXED:
                continue
            failures.append(f"{url} ({persona}, {language}): {leak}")
    return covered, failures


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_every_admin_page_speaks_one_language(dataset, persona, language):
    user = dataset["users"][persona]
    User.objects.filter(pk=user.pk).update(language=language)
    user.refresh_from_db()
    client = Client()
    client.force_login(user)
    covered, failures = scan(client, admin_pages(dataset), language, persona)
    print(f"{persona} ({language}): {covered} pages")  # the count, with -s
    assert covered >= 2, (persona, covered)
    assert not failures, f"{len(failures)} leaks:\n" + "\n".join(failures)
