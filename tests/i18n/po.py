"""A minimal reader of GNU gettext .po files, enough to check our catalogues without polib."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstrs: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        """The key gettext uses in a compiled catalogue (context, EOT, msgid)."""
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        return bool(self.msgstrs) and all(self.msgstrs.values()) and not self.fuzzy


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')


def _unquote(text: str) -> str:
    # PO strings use C escapes (\n, \t, \", \\), all of which JSON reads the same way.
    return json.loads(text)


def read_po(path: Path) -> list[Entry]:
    """The catalogue's entries, header and obsolete (#~) entries excluded."""
    entries: list[Entry] = []
    current = Entry()
    field_name: tuple[str, int] | None = None
    started = False

    def finish() -> None:
        nonlocal current, started
        if started and current.msgid:
            entries.append(current)
        current, started = Entry(), False

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            field_name = None
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#,"):
            if started and current.msgstrs:
                finish()
            current.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, value = match.groups()
            if keyword in ("msgctxt", "msgid") and started and current.msgstrs:
                finish()
            started = True
            text = _unquote(value)
            if keyword == "msgctxt":
                current.msgctxt, field_name = text, ("msgctxt", 0)
            elif keyword == "msgid":
                current.msgid, field_name = text, ("msgid", 0)
            elif keyword == "msgid_plural":
                current.msgid_plural, field_name = text, ("msgid_plural", 0)
            else:
                number = int(index) if index is not None else 0
                current.msgstrs[number], field_name = text, ("msgstr", number)
            continue
        if line.startswith('"') and field_name is not None:
            text = _unquote(line)
            name, number = field_name
            if name == "msgstr":
                current.msgstrs[number] += text
            elif name == "msgctxt":
                current.msgctxt = (current.msgctxt or "") + text
            elif name == "msgid":
                current.msgid += text
            else:
                current.msgid_plural = (current.msgid_plural or "") + text
            continue
        raise ValueError(f"{path}: cannot read line {raw!r}")
    finish()
    return entries


# %(name)s, %d, %.1f … and {name}, {}: a translation must keep exactly the same ones.
_PERCENT = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
_BRACE = re.compile(r"\{(?:[A-Za-z_][A-Za-z0-9_]*)?\}")


def placeholders(text: str, *, python_format: bool) -> list[str]:
    found = _BRACE.findall(text)
    if python_format:
        found += [p for p in _PERCENT.findall(text) if p != "%%"]
    return sorted(found)
