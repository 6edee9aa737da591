"""Anomaly rules: what makes a claim look wrong, each finding with a reason a person can read (EN / 繁中).

The rules read one claim's rows (`SpendRecord`) against what the company has seen before (`History`), its policy
(limits by rank, budgets, calendar) and its vendor directory (approved suppliers). Each rule lives in a module
named for what it looks at; `assess_claim` runs them all, `roll_up` makes the claim's score.
"""

from chalicelib.domain.anomaly.assess import RULES, assess_claim, assess_expense
from chalicelib.domain.anomaly.evidence import weak_evidence
from chalicelib.domain.anomaly.findings import DEAD, Finding, RiskAssessment, Sighting, roll_up
from chalicelib.domain.anomaly.history import ClaimSummary, History
from chalicelib.domain.anomaly.records import SpendRecord, VendorResolver, record_from_expense

__all__ = ["DEAD", "RULES", "ClaimSummary", "Finding", "History", "RiskAssessment", "Sighting", "SpendRecord",
           "VendorResolver", "assess_claim", "assess_expense", "record_from_expense", "roll_up", "weak_evidence"]
