"""The one rule for "is this the same account's e-mail?" (docs/security.md, "E-mail addresses").

Sign-in looks the user up by it, the duplicate checks of `accounts.services` refuse by it, the
`users_email_ci_unique` constraint enforces it, and the sign-in lock-out counts failures by it
(`accounts.requestguard.lockout`), so a spelling that reaches an account also spends that
account's attempt budget.

The rule is Unicode NFKC, then ASCII-only lower-casing. It is computed identically in Python
(`email_key`) and in PostgreSQL (`EmailKey`), whatever the database's locale. PostgreSQL's own
`UPPER`/`LOWER` follow the database's locale (under `C.UTF-8`, `UPPER` maps the dotless i, U+0131, to
`I`, so "adm\u0131n@…" reached `admin@…` while the lock-out counted it as another address), and full Unicode
case folding (`str.casefold`) has no PostgreSQL 15 equivalent. Stored addresses have ASCII local
parts (Django's e-mail validator) and lower-cased domains (`normalize_email`), so nothing real is
lost: `Admin@X.test` still signs in as `admin@x.test`; "adm\u0131n@x.test" is another address.
"""

from __future__ import annotations

import string
import unicodedata
from typing import Any

from django.db.models import CharField, Func

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def email_key(email: Any) -> str:
    """The comparison key of an e-mail address: NFKC, surrounding whitespace and NULs dropped,
    ASCII letters lower-cased (no other letter changes)."""
    text = unicodedata.normalize("NFKC", str(email or "")).replace("\x00", "").strip()
    return text.translate(_ASCII_LOWER)


class EmailKey(Func):
    """`email_key` in SQL: `lower(normalize(email, NFKC) COLLATE "C")`. The "C" collation makes
    `lower` touch ASCII letters only, in every database locale; both functions are immutable,
    so the unique index on it (`users_email_ci_unique`) serves the sign-in lookup. One `Func`
    (not Lower(Collate(…))): Django allows a collation only at the top of an index expression."""

    template = 'lower(normalize(%(expressions)s, NFKC) COLLATE "C")'
    output_field = CharField()
    arity = 1
