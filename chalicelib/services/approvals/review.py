"""What the approval page and the inbox show besides the signed approver view: people by name (from the
directory, never their ids or personal data), each receipt's image, what the employee changed over what
extraction read, risk reasons as data a page words in the reader's language, the policy limits that apply,
the claim's history and who it goes to next.

Everything here is for a person who may already read the claim (the link holder or its approver): receipt
images are short-lived presigned GETs of the claim's own expenses, nothing else.
"""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal

from chalicelib.domain.claim import Claim
from chalicelib.domain.expense import Expense, ExpenseKind, ExpenseStatus
from chalicelib.domain.money import Money
from chalicelib.domain.policy import Policy
from chalicelib.domain.routing import Route, RoutingError, RoutingRule
from chalicelib.services import labelling
from chalicelib.services import routing as routing_service
from chalicelib.services.approvals.context import ApprovalContext
from chalicelib.services.ports import BlobStore, ClaimStore, Directory, ExpenseStore

RECEIPT_SECONDS = 600  # long enough to read a claim of many receipts; a copied image link soon stops working
READ_ACTIONS = {f"expense.{ExpenseStatus.EXTRACTED.value}", f"expense.{ExpenseStatus.NEEDS_REVIEW.value}"}


# ---- people ------------------------------------------------------------------------------------------------


def person(directory: Directory, employee_id: str | None) -> dict | None:
    """A person as pages name them: name and department name; no id, e-mail or phone."""
    if not employee_id:
        return None
    employee = directory.employee(employee_id)
    if employee is None:
        return {"name": None, "department": None}
    department = directory.department(employee.department_id)
    return {"name": employee.name, "department": department.name if department else None}


def zone_of(directory: Directory, employee_id: str | None, default: str = "Asia/Hong_Kong") -> str:
    employee = directory.employee(employee_id) if employee_id else None
    return employee.timezone if employee else default


# ---- what was read and what was entered ----------------------------------------------------------------------


def as_read(expenses: ExpenseStore, expense: Expense) -> Expense | None:
    """The expense as extraction last read it: the newest extracted / needs-review record on its own chain."""
    if expense.kind != ExpenseKind.RECEIPT or not expense.s3_key:
        return None
    for record in sorted(expenses.history(expense.expense_id), key=lambda r: r.seq, reverse=True):
        if record.action in READ_ACTIONS and record.after:
            with contextlib.suppress(ValueError):
                return Expense.model_validate(record.after)
    return None


def corrections(read: Expense | None, entered: Expense) -> list[dict]:
    """The fields the employee changed over what was read: [{"field", "read", "entered", "currency"}]; an
    amount's currency is given so a page formats both values as money."""
    if read is None:
        return []
    before, after = labelling.truth(read), labelling.truth(entered)
    out = []
    for field in labelling.corrected_fields(read, entered):
        currency = None
        if field in ("total", "tax"):
            currency = {"read": before["currency"], "entered": after["currency"]}
        out.append({"field": field, "read": before[field], "entered": after[field], "currency": currency})
    return out


# ---- risk reasons as data ---------------------------------------------------------------------------------

# The reasons chalicelib.domain.anomaly writes (EN / 繁中 in one string); a unit test feeds its own output here,
# so a change of its wording fails a test instead of showing raw text.
_DUPLICATE = re.compile(r"^duplicate: same (?P<what>receipt file|vendor, date and total) as (?:in )?(?P<where>.+?) / ")
_WHERE = re.compile(r"this claim|claim (?P<claim>\S+?)(?: of colleague (?P<colleague>\S+?))?(?=, |$)")
_OVER = re.compile(r"^over limit: HKD (?P<amount>[\d,]+(?:\.\d+)?)(?: a head \((?P<heads>\d+) people\))? exceeds "
                   r"the (?P<category>\S+) limit of HKD (?P<limit>[\d,]+(?:\.\d+)?) / ")
_HK = r"HK\$(?P<{}>[\d,]+(?:\.\d+)?)"
# the limit of the claimant's rank (policy limits by rank): "HK$900 a head (3 people, HK$2,700 in all) is over..."
_OVER_RANK = re.compile(r"^over limit: " + _HK.format("amount") + r"(?: a head \((?P<heads>\d+) people, [^)]*\))? is "
                        r"over the (?P<category>\S+) limit of " + _HK.format("limit") + r" a head for rank "
                        r"(?P<rank>\S+) / ")
# the duplicates beyond the same file or content: a respelled vendor, a receipt number seen before, a re-photograph
_RESPELLED = re.compile(r"^duplicate: the same receipt \(.*?\) as in (?P<where>.+?), the vendor written there as "
                        r"“(?P<vendor>.*?)” / ")
_RECEIPT_NO = re.compile(r"^duplicate: receipt number (?P<number>.+?) of .+? was already claimed in (?P<where>.+?) "
                         r"\([^()]*\) / ")
_REPHOTO = re.compile(r"^duplicate: a photo of the same paper receipt as in (?P<where>.+?)(?: \([^()]*\))?, taken "
                      r"again / ")
#: Rules whose reason is kept as text under a heading naming its kind: their English lead-in, the rule code.
_KINDS = {"over budget: ": "over_budget", "non-partner vendor: ": "non_partner", "split claim: ": "threshold_split",
          "weekend or holiday spend: ": "weekend_holiday", "old receipt: ": "stale_receipt",
          "round amount: ": "round_amount", "night taxi: ": "night_taxi",
          "unusual for this company: ": "unusual_for_company"}


def _number(text: str) -> str:
    return str(Decimal(text.replace(",", "")))


def _where(text: str) -> list[dict]:
    return [{"this_claim": m.group(0) == "this claim", "claim_id": m.group("claim"),
             "colleague_id": m.group("colleague")} for m in _WHERE.finditer(text)]


def parse_reason(reason: str) -> dict:
    """One stored reason as {"code", ...values}; a rule whose values a page does not need keeps its text (without
    its lead-in) under its rule code; an unknown one keeps its text as "other", split into its languages."""
    if match := _DUPLICATE.match(reason):
        code = "duplicate_file" if match.group("what") == "receipt file" else "duplicate_content"
        return {"code": code, "where": _where(match.group("where"))}
    if match := _RESPELLED.match(reason):
        return {"code": "duplicate_respelled", "where": _where(match.group("where")), "vendor": match.group("vendor")}
    if match := _RECEIPT_NO.match(reason):
        return {"code": "duplicate_receipt_no", "where": _where(match.group("where")),
                "number": match.group("number")}
    if match := _REPHOTO.match(reason):
        return {"code": "duplicate_rephotographed", "where": _where(match.group("where"))}
    if match := _OVER.match(reason) or _OVER_RANK.match(reason):
        found = {"code": "over_limit", "amount": _number(match.group("amount")),
                 "limit": _number(match.group("limit")), "heads": int(match.group("heads") or 1),
                 "category": match.group("category")}
        return found | ({"rank": match.group("rank")} if "rank" in match.groupdict() else {})
    for lead, code in _KINDS.items():
        if reason.startswith(lead):
            en, _, zh = reason.removeprefix(lead).partition(" / ")
            zh = zh.split("：", 1)[-1] if zh else en  # "超出預算：..." without its lead-in
            return {"code": code, "en": en, "zh-Hant": zh}
    if reason.startswith("no receipt: lost-receipt line"):
        return {"code": "no_receipt"}
    if reason.startswith("extraction needed review"):
        return {"code": "needs_review"}
    en, _, zh = reason.partition(" / ")
    return {"code": "other", "en": en, "zh-Hant": zh or en}


def _other_claim(claims: ClaimStore, directory: Directory, claimant_id: str, place: dict) -> dict:
    """Where else a receipt was seen, as a person recognises it: its title, when it was made, whose it is
    (the claimant's own, or a colleague by name) and its status; never its id."""
    if place["this_claim"]:
        return {"this_claim": True}
    other = claims.get(place["claim_id"]) if place["claim_id"] else None
    owner = place["colleague_id"] or (other.employee_id if other else None)
    out = {"this_claim": False, "title": other.headline if other else None,
           "created_at": other.created_at.isoformat() if other else None,
           "status": other.status.value if other else None, "own": owner in (None, claimant_id)}
    if not out["own"]:
        out["colleague"] = person(directory, owner)
    return out


def risks(claims: ClaimStore, directory: Directory, claim: Claim, expense: Expense) -> list[dict]:
    found = []
    for reason in expense.risk_reasons:
        parsed = parse_reason(reason)
        if "where" in parsed:
            parsed["where"] = [_other_claim(claims, directory, claim.employee_id, w) for w in parsed["where"]]
        found.append(parsed)
    return found


# ---- policy ------------------------------------------------------------------------------------------------


def _rule(rule: RoutingRule) -> dict:
    return {"require": rule.require, "categories": rule.categories,
            "amount_hkd_over": str(rule.amount_hkd_over) if rule.amount_hkd_over is not None else None,
            "per_head_hkd_over": str(rule.per_head_hkd_over) if rule.per_head_hkd_over is not None else None,
            "risk_at_least": rule.risk_at_least}


def limits(policy: Policy, claim: Claim, amount_hkd: Decimal | None) -> dict:
    """The policy's limits for this claim's categories, the routing rules that apply to it (why each step is
    there) and the amount above which a link alone cannot decide."""
    categories = {e.category for e in claim.expenses}
    general = policy.category_limits_hkd.get("general")
    per_category = [{"category": c, "limit_hkd": str(policy.category_limits_hkd.get(c, general))}
                    for c in sorted(categories) if policy.category_limits_hkd.get(c, general) is not None]
    rules = []
    if amount_hkd is not None:
        for rule in policy.rules:
            with contextlib.suppress(ValueError):
                if rule.applies_to(claim, amount_hkd, policy.fx):
                    rules.append(_rule(rule))
    return {"categories": per_category, "rules": rules, "link_only_max_hkd": str(policy.link_only_max_hkd)}


def in_hkd(policy: Policy, claim: Claim, money: Money | None) -> str | None:
    """An amount in HKD at the rate the claim was valued at (the policy's table before that); None for HKD
    itself or a currency without a rate."""
    if money is None or money.currency == "HKD":
        return None
    rates = claim.valuation.rates if claim.valuation else {}
    rate = rates.get(money.currency) or policy.fx.hkd_per_unit.get(money.currency)
    if rate is None:
        return None
    return str(Money(amount=money.amount * rate, currency="HKD").quantized().amount)


def hkd_equivalents(policy: Policy, claim: Claim) -> dict[str, str]:
    """Each foreign currency's total in HKD."""
    out = {c: in_hkd(policy, claim, total) for c, total in sorted(claim.claimed_totals().items())}
    return {c: v for c, v in out.items() if v is not None}


def amount_hkd(policy: Policy, claim: Claim) -> Decimal | None:
    try:
        return claim.valuation.hkd_total.amount if claim.valuation else claim.hkd_total(policy.fx).amount
    except (ValueError, TypeError):
        return None


# ---- history and what comes next ---------------------------------------------------------------------------


def history(ctx: ApprovalContext, claim: Claim) -> list[dict]:
    """Submitted (each time), and every decision: what, by whom (names), for whom, when (UTC, ISO)."""
    events = []
    for record in ctx.claims.history(claim.claim_id):
        if record.action == "claim.submitted" or record.action.endswith(".resubmitted"):
            events.append({"event": "submitted" if record.action == "claim.submitted" else "resubmitted",
                           "at": record.at.isoformat(), "by": person(ctx.directory, claim.employee_id)})
    for d in claim.decisions:
        events.append({"event": d.decision, "at": d.decided_at.isoformat(), "level": d.level,
                       "by": person(ctx.directory, d.approver_id),
                       "for": person(ctx.directory, d.on_behalf_of) if d.on_behalf_of else None,
                       "comment": d.comment})
    return sorted(events, key=lambda e: e["at"])


def _route(ctx: ApprovalContext, claim: Claim) -> Route | None:
    """The claim's route as the state machine computes it (directory and policy as they are now)."""
    try:
        return routing_service.route(claim.claim_id, ctx.claims, ctx.directory)
    except RoutingError:
        return None


def next_approver(ctx: ApprovalContext, claim: Claim, level: int, route: Route | None = None) -> dict | None:
    """Who the claim goes to after `level` by its route, by name; None when `level` is its last step."""
    route = route or _route(ctx, claim)
    later = [s for s in route.steps if s.level > level] if route else []
    return person(ctx.directory, later[0].approver_id) if later else None


# ---- the page ----------------------------------------------------------------------------------------------


def approval_page(ctx: ApprovalContext, summary: dict, expenses: ExpenseStore, uploads: BlobStore) -> dict:
    """The link's summary (decisions.open_link) with what the page shows besides: names, receipt images,
    corrections, risks in parts, limits, history. Only the link's own claim is read for images."""
    claim = ctx.claims.get(summary["claim_id"])
    if claim is None:
        return summary
    policy = ctx.directory.policy()
    by_id = {e.expense_id: e for e in claim.expenses}
    shown = []
    for row in summary["expenses"]:
        expense = by_id.get(row["expense_id"])
        if expense is None:
            shown.append(row)
            continue
        image = (uploads.view_url(expense.s3_key, expense.s3_version_id, RECEIPT_SECONDS)
                 if expense.s3_key and expense.kind == ExpenseKind.RECEIPT else None)
        shown.append({**row, "receipt_url": image,
                      # an e-mailed HTML receipt (receipt_download) is a download link, never an <img> or a frame
                      "receipt_download": (expense.content_type or "").startswith("text/html"),
                      # one of several receipts in one file: which one to look at
                      "receipt_part": ({"page": expense.source_page or 1, "where": expense.part_position or "middle"}
                                       if expense.source_part is not None else None),
                      "corrections": corrections(as_read(expenses, expense), expense),
                      "risks": risks(ctx.claims, ctx.directory, claim, expense),
                      "tax": str(expense.tax.quantized().amount) if expense.tax else None,
                      "total_hkd": in_hkd(policy, claim, expense.total),
                      "rate_parts": ({"quantity": str(expense.applied_rate.quantity), "unit": expense.applied_rate.unit,
                                      "rate": str(expense.applied_rate.rate.amount),
                                      "currency": expense.applied_rate.rate.currency,
                                      "source": expense.applied_rate.source} if expense.applied_rate else None),
                      "destination": expense.rate_details.get("destination")})
    total_hkd = amount_hkd(policy, claim)
    level = summary.get("level") or claim.approval_level
    route = _route(ctx, claim)
    return {**summary, "expenses": shown,
            "claimant": person(ctx.directory, claim.employee_id),
            "approver": person(ctx.directory, summary.get("approver_id")),
            "for": person(ctx.directory, summary.get("on_behalf_of")),
            "zone": zone_of(ctx.directory, summary.get("approver_id")),
            "hkd_equivalents": hkd_equivalents(policy, claim),
            "hkd_total": str(total_hkd.quantize(Decimal("0.01"))) if total_hkd is not None else None,
            "limits": limits(policy, claim, total_hkd),
            "history": history(ctx, claim),
            "steps": route.count if route else None,
            "next": next_approver(ctx, claim, level, route),
            "waiting_since": claim.updated_at.isoformat()}


def outcome(ctx: ApprovalContext, claim: Claim) -> dict:
    """What a decision led to, for the sentence the page shows: the verdict, the claim's title, what is payable
    after cuts, and who has it next (None: approved at its last step, or not going on)."""
    last = claim.decisions[-1]
    payable = {c: str(m.quantized().amount) for c, m in sorted(claim.payable_totals().items())}
    goes_to = next_approver(ctx, claim, last.level) if last.decision == "approved" else None
    return {"claim_id": claim.claim_id, "status": claim.status.value, "decision": last.decision,
            "title": claim.headline, "payable": payable, "next": goes_to,
            "claimant": person(ctx.directory, claim.employee_id)}
