"""The approval engine knows nothing of what it approves (docs/architecture.md): its tables point only at
its own tables and at users, and its code imports no app above it (the import-linter contract in
pyproject.toml checks the imports in `make test`; this checks what import-linter cannot see: the model
relations Django resolves from strings)."""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps

ENGINE = Path(__file__).resolve().parents[2] / "approvals"


def test_engine_tables_point_only_at_engine_tables_and_users():
    foreign = {
        f"{model._meta.label}.{field.name} -> {field.related_model._meta.label}"
        for model in apps.get_app_config("approvals").get_models()
        for field in model._meta.get_fields()
        if field.is_relation
        and field.concrete  # a relation declared by the engine itself, not a reverse one from a document
        and field.related_model._meta.app_label not in {"approvals", "accounts"}
    }
    assert not foreign


def test_engine_code_names_no_document_app():
    offending = []
    for path in ENGINE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("payments."):
                names = [node.value]
            offending += [
                f"{path.relative_to(ENGINE.parent)}: {n}" for n in names if n.split(".")[0] in {"payments", "invoices"}
            ]
    assert not offending
