"""The approval page a message's link opens, and the page for a refused link, in the reader's language.

The link holder need not be signed in, so unlike the other pages this one is rendered with the claim in it:
the link is the credential (checked by decisions.open_link before anything is read), the response is
no-store, and receipt images are short-lived presigned GETs of this claim's own expenses. Times are shown in
the approver's zone from the directory (the page knows who the link was sent to, not where they are).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date

from chalicelib.web import i18n, pages

_BABEL = {"en": "en_HK", "zh-Hant": "zh_Hant_HK"}

# LinkRefused reasons (chalicelib.services.approvals.decisions, domain.approval_link) -> what the page says
REFUSALS = (
    ("already been used", "approval.refused.used"),
    ("expired", "approval.refused.expired"),
    ("replaced", "approval.refused.replaced"),
    ("changed after", "approval.refused.changed"),
    ("no longer waiting", "approval.refused.decided"),
    ("not genuine", "approval.refused.not_genuine"),
)


def refusal_key(reason: str) -> str:
    return next((key for part, key in REFUSALS if part in reason), "approval.refused.other")


def _day(locale: str):
    def format_day(value: str | None) -> str:
        if not value:
            return ""
        return format_date(date.fromisoformat(str(value)[:10]), "medium", locale=_BABEL.get(locale, "en_HK"))
    return format_day


def _warnings(expenses: list[dict]) -> list[tuple[dict, dict]]:
    return [(e, risk) for e in expenses for risk in e.get("risks") or []]


def approval(summary: dict, request) -> str:
    """Every expense of the claim (what the approver signs) with its receipt beside its fields; the payable
    amount follows what is ticked (approval.js); reject and return ask for a reason and a confirmation."""
    locale = i18n.locale_of(request)
    expenses = summary.get("expenses") or []
    payable: dict[str, Decimal] = {}
    for e in expenses:
        if e.get("currency") and e.get("payable") is not None:
            payable[e["currency"]] = payable.get(e["currency"], Decimal("0")) + Decimal(e["payable"])
    page_data = {  # what the script needs: data, never executed (a JSON block)
        "title": summary.get("title"), "claimant": (summary.get("claimant") or {}).get("name"),
        "next": (summary.get("next") or {}).get("name"), "sign_in_required": bool(summary.get("sign_in_required")),
    }
    return pages.render("approval.html", request, root="../", title_key="approval.title", s=summary,
                        expenses=expenses, warnings=_warnings(expenses), zone=summary.get("zone") or pages.VIEWER_ZONE,
                        format_day=_day(locale), page_data=page_data,
                        payable=sorted(payable.items()))


def refused(reason: str, request) -> str:
    return pages.render("refused.html", request, root="../", title_key="approval.refused.title",
                        reason_key=refusal_key(reason))
