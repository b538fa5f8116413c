"""The security suite's grouping by the OWASP API Security Top 10 (2023).

A security test carries `@pytest.mark.owasp("API1")` (or a module-level `pytestmark`); the
closest mark wins, so a test inside an API1 module can say it checks API5. At the end of the
run this plugin prints, per category, how many cases ran and how they ended:

    make security        # only the security suite (pytest -m owasp)
    make test            # everything, the same table at the end
"""

from collections import Counter
from typing import Any

import pytest

CATEGORIES = {
    "API1": "Broken Object Level Authorization",
    "API2": "Broken Authentication",
    "API3": "Broken Object Property Level Authorization",
    "API4": "Unrestricted Resource Consumption",
    "API5": "Broken Function Level Authorization",
    "API6": "Unrestricted Access to Sensitive Business Flows",
    "API7": "Server Side Request Forgery",
    "API8": "Security Misconfiguration",
    "API9": "Improper Inventory Management",
    "API10": "Unsafe Consumption of APIs",
}

#: Categories with no test, and why none applies to this service.
NOT_APPLICABLE = {
    "API6": "no business flow to automate (no purchase, sign-up or booking); writes are rate-limited (API4)",
    "API7": "the service never connects to the hosts it stores (no connection test, no URL fetch)",
    "API10": "the service consumes no third-party API",
}


class OwaspSummary:
    """Counts each marked test's outcome; prints the table in the terminal summary."""

    name = "rivergen-owasp-summary"

    def __init__(self) -> None:
        self.category_of: dict[str, str] = {}
        self.outcomes: dict[str, Counter[str]] = {key: Counter() for key in CATEGORIES}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("owasp")
            if marker is None:
                continue
            category = marker.args[0] if marker.args else None
            if category not in CATEGORIES:
                raise pytest.UsageError(f"{item.nodeid}: owasp mark needs one of {', '.join(CATEGORIES)}")
            self.category_of[item.nodeid] = category

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        category = self.category_of.get(report.nodeid)
        if category is None:
            return
        # One outcome per case: the call's, or the setup's when the setup failed or skipped.
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.outcomes[category][report.outcome] += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        total = sum(sum(counts.values()) for counts in self.outcomes.values())
        if not total:
            return
        failed = sum(counts["failed"] for counts in self.outcomes.values())
        terminalreporter.write_sep("=", f"OWASP API Security Top 10 (2023): {total:,} cases, {failed} failing")
        for key, title in CATEGORIES.items():
            counts = self.outcomes[key]
            label = f"{key:<6} {title:<48}"
            if key in NOT_APPLICABLE and not counts:
                terminalreporter.write_line(f"{label} n/a: {NOT_APPLICABLE[key]}")
                continue
            figures = ", ".join(f"{counts[outcome]} {outcome}" for outcome in ("passed", "failed", "skipped"))
            terminalreporter.write_line(f"{label} {figures}")
