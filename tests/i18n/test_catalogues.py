"""The committed Vietnamese catalogues are complete and current (`make messages` refreshes them).

A fresh extraction (Django's makemessages, i.e. xgettext) runs on a temporary copy of the
source tree, merged with the committed catalogues exactly as `make messages` would, and must
yield the same msgids, all translated and none fuzzy; the committed .mo files must hold
exactly the committed translations; placeholders must survive translation.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.i18n.po import Entry, placeholders, read_po

REPO = Path(settings.BASE_DIR)
# The same extraction options as the Makefile's `messages` target.
MAKEMESSAGES_OPTIONS = dict(
    locale=["vi"],
    no_obsolete=True,
    add_location="file",
    ignore_patterns=["migrations", "tests", "bench", ".venv"],
    verbosity=0,
)
COPY_IGNORE = shutil.ignore_patterns(
    ".venv",
    ".data",
    ".git",
    "tests",
    "bench",
    "__pycache__",
    "*.mo",
    ".ruff_cache",
    ".pytest_cache",
    "node_modules",
)


def locale_apps() -> list[str]:
    """The catalogue list of the Makefile, the one place that names them."""
    match = re.search(r"^LOCALE_APPS\s*:=\s*(.+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert match, "Makefile has no LOCALE_APPS line"
    return match.group(1).split()


def thirdparty_dirs() -> list[str]:
    match = re.search(r"^LOCALE_THIRDPARTY\s*:=\s*(.+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    return match.group(1).split() if match else []


def po_path(root: Path, app: str) -> Path:
    if app in thirdparty_dirs():
        return root / app / "vi" / "LC_MESSAGES" / "django.po"
    return root / app / "locale" / "vi" / "LC_MESSAGES" / "django.po"


def committed_catalogues() -> list:
    """Every committed catalogue: each app's, and each hand-kept directory's (django.po, and djangojs.po
    where it has one: acountee/locale_django)."""
    params = [pytest.param(po_path(REPO, app), id=app) for app in locale_apps()]
    for directory in thirdparty_dirs():
        for po in sorted((REPO / directory / "vi" / "LC_MESSAGES").glob("*.po")):
            params.append(pytest.param(po, id=f"{directory}:{po.stem}"))
    return params


def describe(entry: Entry) -> str:
    return repr(entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}|{entry.msgid}")


def test_every_project_app_has_a_catalogue():
    """Nested apps (payments.notifications, payments.workbench…) live in their parent's catalogue."""
    apps = locale_apps()
    from django.apps import apps as registry

    for config in registry.get_app_configs():
        path = Path(config.path)
        if REPO not in path.parents or ".venv" in path.parts:
            continue
        top = path.relative_to(REPO).parts[0]
        assert top in apps, f"{config.label} ({top}) has no catalogue in Makefile LOCALE_APPS"
    for app in apps:
        assert po_path(REPO, app).is_file(), f"{app} has no vi catalogue: run `make messages`"


@pytest.mark.parametrize("po", committed_catalogues())
def test_catalogue_is_fully_translated(po):
    problems = []
    for entry in read_po(po):
        if entry.fuzzy:
            problems.append(f"fuzzy: {describe(entry)}")
        elif not entry.translated:
            problems.append(f"untranslated: {describe(entry)}")
        else:
            # The admin's JavaScript interpolates %s and %(name)s the way Python does.
            percent = bool({"python-format", "javascript-format"} & entry.flags)
            expected = placeholders(entry.msgid, python_format=percent)
            for translation in entry.msgstrs.values():
                if placeholders(translation, python_format=percent) != expected:
                    problems.append(f"placeholders differ: {describe(entry)} -> {translation!r}")
    assert not problems, f"{po.relative_to(REPO)}: " + "\n".join(problems)


@pytest.mark.parametrize("po", committed_catalogues())
def test_compiled_catalogue_matches_po(po):
    """The committed .mo holds exactly the committed translations (run `make messages` after editing a .po)."""
    mo = po.with_suffix(".mo")
    assert mo.is_file(), f"{mo} is missing: run `make messages`"
    with mo.open("rb") as handle:
        compiled = {k: v for k, v in gettext.GNUTranslations(handle)._catalog.items() if k != ""}
    expected: dict = {}
    for entry in read_po(po):
        if not entry.translated:
            continue
        if entry.msgid_plural is None:
            expected[entry.key] = entry.msgstrs[0]
        else:
            expected.update({(entry.key, n): text for n, text in entry.msgstrs.items()})
    assert compiled == expected, f"{mo} is out of date with {po.name}: run `make messages`"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext (msgfmt) is not installed")
@pytest.mark.parametrize("po", committed_catalogues())
def test_msgfmt_check_passes(po, tmp_path):
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "catalogue.mo"), str(po)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def fresh_extraction(tmp_path_factory) -> Path:
    """makemessages over a copy of the tree, merged into copies of the committed catalogues."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.skip("GNU gettext (xgettext, msgmerge) is not installed: cannot check catalogue freshness")
    root = tmp_path_factory.mktemp("i18n") / "tree"
    shutil.copytree(REPO, root, ignore=COPY_IGNORE)
    script = (
        "import os, sys, django\n"
        "django.setup()\n"
        "from django.core.management import call_command\n"
        f"options = {MAKEMESSAGES_OPTIONS!r}\n"
        "for app in sys.argv[2:]:\n"
        "    os.chdir(os.path.join(sys.argv[1], app))\n"
        "    call_command('makemessages', **options)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "acountee.settings",
        "PYTHONPATH": str(root),
        # Settings need a database URL; extraction never connects to it.
        "PGURI": "postgres://unused@127.0.0.1:9/unused",
    }
    result = subprocess.run(
        [sys.executable, "-c", script, str(root), *locale_apps()],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return root


@pytest.mark.parametrize("app", locale_apps())
def test_catalogue_is_current(app, fresh_extraction):
    committed = {entry.key: entry for entry in read_po(po_path(REPO, app))}
    fresh = {entry.key: entry for entry in read_po(po_path(fresh_extraction, app))}
    missing = sorted(set(fresh) - set(committed))
    obsolete = sorted(set(committed) - set(fresh))
    assert not missing and not obsolete, (
        f"{app} catalogue is stale (run `make messages` and translate):\n"
        f"  new msgids: {missing[:20]}{' …' if len(missing) > 20 else ''}\n"
        f"  msgids no longer in the code: {obsolete[:20]}{' …' if len(obsolete) > 20 else ''}"
    )


def test_thirdparty_catalogue_covers_installed_drf():
    """Every message DRF can send (its English catalogue lists them all) has our Vietnamese, and
    nothing else is there (Django's own messages are acountee/locale_django's): a DRF upgrade with
    new messages fails here."""
    import rest_framework

    source = Path(rest_framework.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "django.mo"
    with source.open("rb") as handle:
        drf = {k for k in gettext.GNUTranslations(handle)._catalog if k != ""}
    directory = "acountee/locale_thirdparty"
    assert directory in thirdparty_dirs()
    ours = {entry.key for entry in read_po(po_path(REPO, directory))}
    assert not drf - ours, f"DRF messages without Vietnamese: {sorted(drf - ours)}"
    assert not ours - drf, f"not DRF messages: {sorted(ours - drf)}"


def test_django_catalogues_are_in_the_makefile_and_settings():
    """`make messages` compiles acountee/locale_django, and Django reads it before its own catalogues."""
    assert "acountee/locale_django" in thirdparty_dirs()
    paths = [Path(path) for path in settings.LOCALE_PATHS]
    assert paths.index(REPO / "acountee" / "locale") < paths.index(REPO / "acountee" / "locale_django")
