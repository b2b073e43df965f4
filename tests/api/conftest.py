"""Prints how many examples the API fuzzer sent, per persona, generation mode and phase."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.api.test_fuzz import COUNTS

    if not COUNTS:
        return
    terminalreporter.section("API fuzz examples (persona, mode, phase)")
    for key, count in sorted(COUNTS.items()):
        terminalreporter.write_line(f"{' / '.join(key)}: {count}")
    terminalreporter.write_line(f"total: {sum(COUNTS.values())}")
