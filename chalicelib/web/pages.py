"""Minimal server-rendered pages: the dashboard shell and the approval page opened from a message.

Scripts and styles are files under `static/` (served by `GET /static/{name}`), never inline, so the pages' CSP
allows only the app's own scripts (`script-src 'self'`, no 'unsafe-inline'). Links are relative: the dashboard
is the stage root, the approval pages are one level down (`approvals/{token}`).
"""

from __future__ import annotations

import contextlib
import html
import json
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

_HEAD = """<!doctype html><html lang="zh-Hant"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<link rel="stylesheet" href="{root}static/app.css"></head><body>"""


def dashboard() -> str:
    """Phone-first page: sign in (dev token on local/dev), snap a receipt, check what was read, then submit it on
    its own or put it in a claim (報銷單: a report of many expenses, with mileage and per-diem lines); finance sees
    counts per status and the department's claims."""
    return _HEAD.format(root="", title="HK Expense 報銷") + """
<h1>HK Expense 報銷</h1>
<p><label>Employee id 員工編號 <input id="emp" value="E201" size="6"></label>
<button id="login">Sign in 登入</button> <span id="who"></span></p>
<section id="upload" hidden><h2>New receipt 新收據</h2>
<input id="file" type="file" accept="image/*,application/pdf" capture="environment">
<p id="progress" role="status"></p>
<form id="review" hidden>
<p id="reasons" class="risk"></p>
<label>Vendor 商戶 <input name="vendor"></label><br>
<label>Date 日期 <input name="receipt_date" type="date"></label><br>
<label>Total 總額 <input name="total" inputmode="decimal" size="10"></label>
<label>Currency 貨幣 <input name="currency" size="4" maxlength="3"></label><br>
<label>Category 類別 <select name="category"><option>meals</option><option>taxi</option><option>travel</option>
<option>entertainment</option><option selected>general</option></select></label><br>
<label>What for 用途 <input name="purpose" size="30"></label><br>
<label><input name="urgent" type="checkbox"> Urgent 緊急</label><br>
<button type="submit" id="alone">Submit on its own 單獨提交</button><br>
<label>or add to 或加入 <select name="into"></select></label>
<button type="button" id="add-to">Add to claim 加入報銷單</button>
<small id="no-draft">No draft claim yet: start one under My claims 尚無報銷單草稿，請於下方建立</small><br>
<button type="button" id="keep">Keep for later 稍後處理</button></form></section>
<section id="loose" hidden><h2>My unattached receipts 未歸入報銷單的收據</h2><ul id="unattached"></ul></section>
<section id="reports" hidden><h2>My claims 我的報銷單</h2>
<form id="new-claim"><label>Title 標題 <input name="title" required maxlength="200" size="24"></label>
<label>Purpose 目的 <input name="purpose" maxlength="500" size="24"></label>
<button type="submit">New claim 新報銷單</button></form><p id="claim-msg" role="status"></p>
<div id="drafts"></div></section>
<section id="mine" hidden><h2>Waiting for me 待我審批</h2><ul id="waiting"></ul>
<button id="batch">Approve selected 批量批准</button> <span id="batched"></span></section>
<h2>Claims 申請</h2><div id="summary"></div><div id="bottlenecks"></div>
<table id="claims"><thead><tr><th>Claim 報銷單</th><th>Date 日期</th><th>Amount 金額</th>
<th>Status 狀態</th><th>Risk 風險</th><th>Notes 備註</th></tr></thead><tbody></tbody></table>
<script src="static/dashboard.js"></script></body></html>"""


def approval(summary: dict) -> str:
    """Every expense of the claim (what the approver signs), each one disallowable as a whole and a receipt's
    lines one by one; the payable amount follows what is ticked (approval.js)."""
    period = " – ".join(d for d in summary.get("period") or [] if d)
    rows = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(value))}</td></tr>"
        for label, value in (
            ("Claim 報銷單", summary.get("title") or summary.get("vendor") or summary["claim_id"]),
            ("Claimant 申請人", summary.get("employee_id")),
            ("Purpose 用途", summary.get("purpose")),
            ("Period 期間", period),
            ("Total 總額", summary.get("amounts") or _amount(summary.get("currency"), summary.get("total"))),
        ) if value
    )
    risks = "".join(f"<li class='risk'>{html.escape(r)}</li>" for r in summary.get("risk_reasons") or [])
    # valid JSON that cannot close the script element (read as text: entities would not be decoded)
    data = json.dumps(summary, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    data = data.replace("&", "\\u0026")
    return _HEAD.format(root="../", title="Approve 審批") + f"""
<h1>Approve claim 審批申請</h1><table>{rows}</table><ul>{risks}</ul>
{_expenses(summary)}
{_step_up(summary)}<textarea id="comment" rows="3" cols="40" placeholder="Comment 備註"></textarea><br>
<button data-d="approve">Approve 批准</button><button data-d="reject">Reject 拒絕</button>
<button data-d="return">Return for correction 退回修改</button><p id="out" role="status"></p>
<script src="../static/approval.js"></script>
<script type="application/json" id="claim">{data}</script>
</body></html>"""


def _amount(currency: object, amount: object) -> str:
    """"HKD 1,234.50", as Money prints amounts elsewhere on the page."""
    with contextlib.suppress(InvalidOperation):
        amount = f"{Decimal(str(amount)):,.2f}" if amount not in (None, "") else ""
    return f"{currency or ''} {amount or ''}".strip()


def _step_up(summary: dict) -> str:
    """Large or high-risk claims are decided in the approver's own session: the page says so and signs them in
    (the local and dev stages' sign-in; the deployed sign-in is the web-front issue's)."""
    if not summary.get("sign_in_required"):
        return ""
    who = html.escape(str(summary.get("approver_id") or ""))
    return (f"<p class='notice' id='step-up' data-approver='{who}'>Above the amount a link alone may approve, or "
            f"flagged as high risk: you decide it signed in as {who}. "
            f"金額較大或屬高風險：須以 {who} 身份登入審批。</p>")


KINDS = {"receipt": "Receipt 收據", "mileage": "Mileage 里程", "per_diem": "Per diem 每日津貼",
         "lost_receipt": "No receipt 遺失收據"}


def _expenses(summary: dict) -> str:
    """One block per expense: what it is, its amount, how a mileage or per-diem amount was worked out, why a
    receipt is missing, its risks; then a box to disallow it whole and, for a receipt, one per line."""
    expenses = summary.get("expenses")
    if expenses is None:  # a summary of the one-receipt model: its receipt, the lines cut by `line` alone
        expenses = [{"expense_id": None, "label": summary.get("vendor") or "receipt", "kind": "receipt",
                     **{k: summary.get(k) for k in ("date", "total", "currency", "category", "line_items")}}]
    if not expenses:
        return ""
    blocks = "".join(_expense(e) for e in expenses)
    payable = summary.get("payable_amounts") or _amount(summary.get("currency"), summary.get("payable"))
    return (f"<h2>Expenses 開支 ({len(expenses)})</h2>{blocks}"
            f"<p class='payable'>Payable now 應付金額: <strong id='payable'>{html.escape(payable)}</strong></p>")


def _expense(e: dict) -> str:
    eid = html.escape(str(e.get("expense_id") or ""))
    cut = e.get("disallowed_reason")
    facts = " · ".join(html.escape(str(x)) for x in (
        e.get("date"), e.get("category"), KINDS.get(e.get("kind") or "", e.get("kind"))) if x)
    out = [f"<article class='expense{' disallowed' if cut else ''}' data-expense='{eid}' "
           f"data-currency='{html.escape(str(e.get('currency') or ''))}' "
           f"data-total='{html.escape(str(e.get('total') or '0'))}' data-cut='{'1' if cut else ''}'>",
           f"<h3>{html.escape(str(e.get('label') or ''))} <span class='amount'>"
           f"{html.escape(_amount(e.get('currency'), e.get('total')))}</span></h3><p>{facts}</p>"]
    if e.get("description") and e.get("description") != e.get("label"):
        out.append(f"<p>{html.escape(e['description'])}</p>")
    if e.get("rate"):
        out.append(f"<p class='working'>{html.escape(e['rate'].get('working') or '')} "
                   f"<small>({html.escape(e['rate'].get('source') or '')})</small></p>")
    if e.get("lost_receipt_reason"):
        out.append(f"<p class='risk'>No receipt 無收據: {html.escape(e['lost_receipt_reason'])}</p>")
    out += [f"<p class='risk'>{html.escape(r)}</p>" for r in e.get("risk_reasons") or []]
    out.append(_line_items(e))
    if cut:
        out.append(f"<p class='risk'>Disallowed 不批准: {html.escape(cut)}</p>")
    elif eid:
        out.append(f"<p class='cut'><label><input type='checkbox' class='disallow-expense' data-expense='{eid}'> "
                   f"Disallow this expense 整項不批准</label> <input class='why' maxlength='300' "
                   f"placeholder='Reason 原因' aria-label='Reason 原因'></p>")
    return "".join(out) + "</article>"


def _line_items(expense: dict) -> str:
    """Each line can be disallowed on its own (partial approval); lines already disallowed say by whom and why."""
    lines = expense.get("line_items") or []
    if not lines:
        return ""
    eid = html.escape(str(expense.get("expense_id") or ""))
    rows = []
    for line in lines:
        n = int(line["line"])
        cells = (f"<td>{html.escape(line['description'])}</td>"
                 f"<td class='num'>{html.escape(_amount('', line['amount']))}</td>")
        if line.get("disallowed_reason"):
            rows.append(f"<tr class='disallowed' data-amount='{html.escape(line['amount'])}'>{cells}<td>"
                        f"Disallowed 不批准: {html.escape(line['disallowed_reason'])}</td></tr>")
        else:
            rows.append(f"<tr data-amount='{html.escape(line['amount'])}'>{cells}<td><label><input type='checkbox' "
                        f"class='disallow' data-line='{n}' data-expense='{eid}'> Disallow 不批准</label> "
                        f"<input class='why' maxlength='300' placeholder='Reason 原因' "
                        f"aria-label='Reason 原因'></td></tr>")
    return f"<table class='lines'><caption>Line items 明細</caption>{''.join(rows)}</table>"


def refused(reason: str) -> str:
    body = f"<h1>Link refused 連結無效</h1><p>{html.escape(reason)}</p></body></html>"
    return _HEAD.format(root="../", title="Link refused 連結無效") + body



@cache
def _assets() -> dict[str, tuple[str, str]]:
    return {path.name: (path.read_text(encoding="utf-8"), STATIC_TYPES[path.suffix])
            for path in STATIC_DIR.iterdir() if path.suffix in STATIC_TYPES}


def static_asset(name: str) -> tuple[str, str] | None:
    """(content, content type) of a file in static/ by its name; None for any other name."""
    return _assets().get(name)
