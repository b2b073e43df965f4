"""docs/controls.md names each payment-control invariant; every name has at least one test here that
carries it (PREPARER-NEVER-APPROVES → test_preparer_never_approves_…), so a new invariant without a
test, or a renamed one, fails."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def invariant_names() -> list[str]:
    text = (ROOT / "docs" / "controls.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `([A-Z][A-Z-]+)` \|", text, flags=re.MULTILINE)


def control_test_names() -> list[str]:
    names = []
    for path in (ROOT / "tests" / "controls").glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names += [
            node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        ]
    return names


def test_every_invariant_of_the_control_model_has_a_test_by_its_name():
    names = invariant_names()
    assert len(names) >= 15, names
    tests = control_test_names()
    untested = [n for n in names if not any(n.lower().replace("-", "_") in t for t in tests)]
    assert untested == [], f"invariants of docs/controls.md without a test named after them: {untested}"
