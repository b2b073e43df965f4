"""Django's own messages reach Vietnamese users in Vietnamese (acountee/locale_django, docs/i18n.md).

Django 5.2's vi catalogues lack many messages its English ones have (the admin's "Show counts", the
date picker's weekdays, form validation messages…) and get some wrong ("History" was "Bản ghi nhớ").
acountee/locale_django fills the gaps and replaces the poor ones; it is in LOCALE_PATHS, which win
over Django's catalogues and the apps'. A Django upgrade that brings new messages fails
test_every_django_message_has_vietnamese, naming them.
"""

from __future__ import annotations

import gettext
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import django
import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from accounts.models import User
from tests.i18n.po import Entry, read_po
from tests.i18n.test_catalogues import locale_apps, po_path
from tests.payments.factories import make_invoice, make_pr

REPO = Path(settings.BASE_DIR)
DJANGO = Path(django.__file__).parent
OURS = REPO / "acountee" / "locale_django" / "vi" / "LC_MESSAGES"
# The Django catalogues a back-office user meets: (folder under django/, domain).
CATALOGUES = [
    ("contrib/admin", "django"),
    ("contrib/admin", "djangojs"),
    ("contrib/auth", "django"),
    ("contrib/contenttypes", "django"),
    ("contrib/sessions", "django"),
    ("conf", "django"),
]
# What Django itself merges into the Vietnamese catalogue of each domain: its global catalogue and
# its installed apps' (the admin's JavaScript catalogue: the admin's and the global one).
SERVED_BY_DJANGO = {
    "django": ["conf", "contrib/admin", "contrib/auth", "contrib/contenttypes", "contrib/sessions", "contrib/messages"],
    "djangojs": ["conf", "contrib/admin"],
}
# Django messages deliberately left without Vietnamese, each with why; keep it short. None today:
# even the names of languages we never offer are translated (cheaper than a list to keep).
SKIPPED: dict[str, str] = {}


def compiled_key(entry: Entry) -> str | tuple[str, int]:
    """The key gettext looks up: a plural message is found by (msgid, form)."""
    return entry.key if entry.msgid_plural is None else (entry.key, 0)


def mo_catalogue(path: Path) -> dict:
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        return {k: v for k, v in gettext.GNUTranslations(handle)._catalog.items() if k != "" and v}


def django_vietnamese(domain: str) -> dict:
    served: dict = {}
    for folder in SERVED_BY_DJANGO[domain]:
        served.update(mo_catalogue(DJANGO / folder / "locale" / "vi" / "LC_MESSAGES" / f"{domain}.mo"))
    return served


def django_english(domain: str) -> list[Entry]:
    return [
        entry
        for folder, catalogue_domain in CATALOGUES
        if catalogue_domain == domain
        for entry in read_po(DJANGO / folder / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po")
    ]


def ours(domain: str) -> list[Entry]:
    return read_po(OURS / f"{domain}.po")


def describe(entry: Entry) -> str:
    flags = f" [{', '.join(sorted(entry.flags))}]" if entry.flags else ""
    context = f"{entry.msgctxt}|" if entry.msgctxt else ""
    plural = f" / {entry.msgid_plural!r}" if entry.msgid_plural else ""
    return f"{context}{entry.msgid!r}{plural}{flags}"


# --- (a) coverage ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("folder", "domain"), CATALOGUES, ids=[f"{f}:{d}" for f, d in CATALOGUES])
def test_every_django_message_has_vietnamese(folder, domain):
    """Every message of Django's English catalogue is translated by Django's vi or by ours."""
    translated = set(django_vietnamese(domain)) | {compiled_key(entry) for entry in ours(domain) if entry.translated}
    english = read_po(DJANGO / folder / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po")
    missing = [
        describe(entry) for entry in english if compiled_key(entry) not in translated and entry.msgid not in SKIPPED
    ]
    assert not missing, (
        f"django/{folder} ({domain}) has messages without Vietnamese: add them to "
        f"acountee/locale_django/vi/LC_MESSAGES/{domain}.po with their flags, then `make messages`:\n  "
        + "\n  ".join(missing)
    )


def test_the_skip_list_names_only_current_django_messages():
    english = {entry.msgid for _folder, domain in CATALOGUES for entry in django_english(domain)}
    assert not set(SKIPPED) - english, f"no longer Django messages: {sorted(set(SKIPPED) - english)}"


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_our_catalogue_holds_only_django_messages(domain):
    """Each entry fills or replaces a message Django has: none left over after a Django upgrade."""
    english = {compiled_key(entry) for entry in django_english(domain)}
    served = set(django_vietnamese(domain))
    stale = [describe(entry) for entry in ours(domain) if compiled_key(entry) not in english | served]
    assert not stale, f"not Django messages (remove them): {stale}"


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_our_flags_are_djangos(domain):
    """python-format, python-brace-format, javascript-format: copied from Django's English, so that
    msgfmt --check and the placeholder check test what Django interpolates."""
    english = {compiled_key(entry): entry.flags for entry in django_english(domain)}
    wrong = [
        describe(entry)
        for entry in ours(domain)
        if compiled_key(entry) in english and entry.flags - {"fuzzy"} != english[compiled_key(entry)] - {"fuzzy"}
    ]
    assert not wrong, wrong


# --- (b) our Vietnamese wins -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("english", "vietnamese"),
    [
        ("History", "Lịch sử"),
        ("Add %(name)s", "Thêm %(name)s"),
        ("Go", "Thực hiện"),
        ("Run the selected action", "Thực hiện thao tác đã chọn"),
        ("Log out", "Đăng xuất"),
        (" By %(filter_title)s ", " Theo %(filter_title)s "),
        ("Show counts", "Hiện số lượng"),
        ("Skip to main content", "Chuyển đến nội dung chính"),
        ("Enter a whole number.", "Nhập một số nguyên."),
        ("Password reset unsuccessful", "Đặt lại mật khẩu không thành công"),
    ],
)
def test_our_vietnamese_wins_over_djangos(english, vietnamese):
    with translation.override("vi"):
        assert translation.gettext(english) == vietnamese
    with translation.override("en"):
        assert translation.gettext(english) == english


def test_plural_and_contextual_messages_are_ours_too():
    with translation.override("vi"):
        for count in (1, 3):
            banner = translation.ngettext("Please correct the error below.", "Please correct the errors below.", count)
            assert banner == "Vui lòng sửa lỗi bên dưới."
            assert translation.ngettext("%(num)d year", "%(num)d years", count) % {"num": count} == f"{count} năm"
        assert translation.pgettext("String to return when truncating text", "%(truncated_text)s…") == (
            "%(truncated_text)s…"
        )


def test_django_never_shadows_the_projects_own_translations():
    """An app's catalogue loses to Django's contrib apps listed before it in INSTALLED_APPS (accounts'
    "permissions" was served as Django's "cho phép"): where a project catalogue and Django translate
    the same message, the project's translation is the one served."""
    django_keys = set(django_vietnamese("django")) | {compiled_key(e) for e in django_english("django")}
    catalogues = [po_path(REPO, app) for app in locale_apps()]
    catalogues.append(REPO / "acountee" / "locale_thirdparty" / "vi" / "LC_MESSAGES" / "django.po")
    shadowed = []
    with translation.override("vi"):
        for path in catalogues:
            for entry in read_po(path):
                if compiled_key(entry) not in django_keys:
                    continue
                served = served_vietnamese(entry)
                if served != entry.msgstrs[0]:
                    where = path.relative_to(REPO)
                    shadowed.append(f"{where}: {entry.msgid!r} is served as {served!r}, not {entry.msgstrs[0]!r}")
    assert not shadowed, "\n".join(shadowed)


def served_vietnamese(entry: Entry) -> str:
    """What gettext answers for the entry's message (singular form) in the active language."""
    if entry.msgid_plural is not None:
        if entry.msgctxt:
            return translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 1)
        return translation.ngettext(entry.msgid, entry.msgid_plural, 1)
    if entry.msgctxt:
        return translation.pgettext(entry.msgctxt, entry.msgid)
    return translation.gettext(entry.msgid)


# --- (c) the admin's JavaScript catalogue ----------------------------------------------------------
def javascript_catalogue(client: Client) -> dict:
    response = client.get("/admin/jsi18n/")
    assert response.status_code == 200
    match = re.search(r"const newcatalog = (\{.*?\});", response.content.decode(), re.DOTALL)
    return json.loads(match.group(1)) if match else {}  # an empty catalogue is left out of the script


@pytest.mark.django_db
def test_the_admin_serves_vietnamese_weekdays_and_widgets(finance):
    User.objects.filter(pk=finance.pk).update(language="vi")
    client = Client()
    client.force_login(User.objects.get(pk=finance.pk))
    catalogue = javascript_catalogue(client)
    weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    assert [catalogue[day] for day in weekdays] == ["Chủ nhật", "Thứ 2", "Thứ 3", "Thứ 4", "Thứ 5", "Thứ 6", "Thứ 7"]
    assert catalogue["abbrev. day Monday\x04Mon"] == "T2"
    assert catalogue["one letter Sunday\x04S"] == "CN"  # the date picker's column headings
    assert catalogue["Choose all %s"] == "Chọn tất cả %s"
    assert catalogue["Hide"] == "Ẩn"
    assert catalogue["Remove all %s"] == "Gỡ tất cả %s"


@pytest.mark.django_db
def test_the_english_javascript_catalogue_stays_english(finance):
    User.objects.filter(pk=finance.pk).update(language="en")
    client = Client()
    client.force_login(User.objects.get(pk=finance.pk))
    assert "Sunday" not in javascript_catalogue(client)  # English is the source: nothing to translate


# --- (d) the admin's pages ------------------------------------------------------------------------
class VisibleText(HTMLParser):
    """The text a user sees or hears: text nodes and the labelled attributes."""

    ATTRIBUTES = {"aria-label", "title", "placeholder", "value", "alt"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: set[str] = set()
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "input" and dict(attrs).get("type") in ("hidden", "checkbox", "radio"):
            return
        self.texts.update(" ".join(value.split()) for name, value in attrs if name in self.ATTRIBUTES and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.add(" ".join(data.split()))


# The language switcher names each language in itself (English, Tiếng Việt), on purpose.
NATIVE_LANGUAGE_NAMES = {"English"}


def django_english_on(html: str) -> list[str]:
    """Django admin and auth messages shown in English, whole (a text node or a label equal to one)."""
    parser = VisibleText()
    parser.feed(html)
    parser.texts -= NATIVE_LANGUAGE_NAMES
    with translation.override("vi"):
        english = {
            " ".join(entry.msgid.split())
            for entry in django_english("django")
            if entry.msgid_plural is None
            and entry.msgctxt is None
            and "%" not in entry.msgid
            and "{" not in entry.msgid
            and translation.gettext(entry.msgid) != entry.msgid
        }
    return sorted(parser.texts & english)


@pytest.fixture
def vi_client(owner, approver) -> Client:
    User.objects.filter(pk=owner.pk).update(language="vi")
    invoice = make_invoice(seller_name="CÔNG TY TNHH DỊCH VỤ KỸ THUẬT SAO MAI")
    make_pr(maker=owner, steps=[("anyof", [approver])], type="direct", invoices=[invoice], request=True)
    client = Client()
    client.force_login(User.objects.get(pk=owner.pk))
    return client


@pytest.mark.django_db
def test_a_change_page_shows_no_django_english(vi_client):
    from payments.models import PaymentRequest

    pr = PaymentRequest.objects.get()
    response = vi_client.get(f"/admin/payments/paymentrequest/{pr.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200 and '<html lang="vi"' in html
    for english in ("History", "Log out", "Skip to main content", "Breadcrumbs", "Toggle theme"):
        assert english not in html, english
    for vietnamese in ("Lịch sử", "Đăng xuất", "Chuyển đến nội dung chính", "Đường dẫn điều hướng"):
        assert vietnamese in html, vietnamese
    assert django_english_on(html) == []


@pytest.mark.django_db
def test_a_list_page_shows_no_django_english(vi_client):
    response = vi_client.get("/admin/payments/paymentrequest/")
    html = response.content.decode()
    assert response.status_code == 200
    for english in ("Show counts", "Hide counts", "Run the selected action", ">Go<", " By "):
        assert english not in html, english
    assert "Hiện số lượng" in html and "Thực hiện thao tác đã chọn" in html
    assert django_english_on(html) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "page",
    [
        "/admin/",
        "/admin/payments/paymentrequest/{pr}/history/",
        "/admin/payments/paymentrequest/add/",
        "/admin/invoices/invoice/",
        "/admin/approvals/approvaldelegation/add/",
        "/admin/accounts/user/",
        "/admin/accounts/user/{user}/change/",
        "/admin/accounts/user/{user}/password/",
        "/admin/password_change/",
    ],
)
def test_other_admin_pages_show_no_django_english(vi_client, owner, page):
    from payments.models import PaymentRequest

    response = vi_client.get(page.format(pr=PaymentRequest.objects.get().pk, user=owner.pk))
    assert response.status_code == 200
    assert django_english_on(response.content.decode()) == []


def test_the_sign_in_page_shows_no_django_english(db):
    response = Client().get("/admin/login/", HTTP_ACCEPT_LANGUAGE="vi")
    html = response.content.decode()
    assert response.status_code == 200 and '<html lang="vi"' in html
    assert "Đăng nhập" in html
    assert django_english_on(html) == []


@pytest.mark.django_db
def test_the_header_has_no_view_site_link(vi_client):
    """There is no public site behind the back office: Django's "View site" link was a 404."""
    html = vi_client.get("/admin/").content.decode()
    assert "Xem trang web" not in html and "View site" not in html
    assert 'href="/"' not in html
