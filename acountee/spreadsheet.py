"""Spreadsheet safety shared by every export (bank transfers, reports, the audit log).

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel and
LibreOffice (CSV injection): it gets a leading `'`, so the spreadsheet shows it as text."""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """`=1+1` → `'=1+1`: spreadsheets show it, never evaluate it."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value
