"""Minimal server-rendered pages: the dashboard shell and the approval page opened from a message."""

from __future__ import annotations

import html
import json

_HEAD = """<!doctype html><html lang="zh-Hant"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK TC",sans-serif;margin:1rem;max-width:60rem}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}}
button{{font-size:1.1rem;padding:.6rem 1.2rem;margin:.3rem}} .risk{{color:#a00}}</style></head><body>"""


def dashboard() -> str:
    """Finance dashboard: sign in with a dev token (local/dev), then counts per status and the claim list."""
    return _HEAD.format(title="HK Expense 報銷") + """
<h1>HK Expense 報銷</h1>
<p><label>Employee id 員工編號 <input id="emp" value="E300"></label> <button id="login">Sign in 登入</button></p>
<div id="summary"></div><table id="claims"><thead><tr><th>Claim</th><th>Vendor 商戶</th><th>Date</th>
<th>Total 總額</th><th>Status 狀態</th><th>Risk 風險</th></tr></thead><tbody></tbody></table>
<script>
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => "&#" + c.charCodeAt(0) + ";");
async function load(token) {
  const h = {Authorization: "Bearer " + token};
  const s = await (await fetch("dashboard/summary", {headers: h})).json();
  document.getElementById("summary").textContent = JSON.stringify(s.by_status || s);
  const list = await (await fetch("claims", {headers: h})).json();
  document.querySelector("#claims tbody").innerHTML = (list.claims || []).map(c =>
    `<tr><td>${esc(c.claim_id)}</td><td>${esc(c.vendor)}</td><td>${esc(c.receipt_date)}</td>
     <td>${esc(c.total && c.total.currency)} ${esc(c.total && c.total.amount)}</td><td>${esc(c.status)}</td>
     <td class="risk">${esc((c.risk_reasons || []).join("; "))}</td></tr>`).join("");
}
document.getElementById("login").onclick = async () => {
  const r = await fetch("dev/token", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({employee_id: document.getElementById("emp").value})});
  const t = await r.json();
  if (t.token) load(t.token); else document.getElementById("summary").textContent = JSON.stringify(t);
};
</script></body></html>"""


def approval(summary: dict) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(summary.get(key) or ''))}</td></tr>"
        for key, label in (
            ("vendor", "Vendor 商戶"),
            ("date", "Date 日期"),
            ("currency", "Currency 貨幣"),
            ("total", "Total 總額"),
            ("category", "Category 類別"),
            ("purpose", "Purpose 用途"),
            ("employee_id", "Claimant 申請人"),
        )
    )
    risks = "".join(f"<li class='risk'>{html.escape(r)}</li>" for r in summary.get("risk_reasons") or [])
    return _HEAD.format(title="Approve 審批") + f"""
<h1>Approve claim 審批申請 {html.escape(summary['claim_id'])}</h1><table>{rows}</table><ul>{risks}</ul>
<textarea id="comment" rows="3" cols="40" placeholder="Comment 備註"></textarea><br>
<button data-d="approve">Approve 批准</button><button data-d="reject">Reject 拒絕</button><p id="out"></p>
<script>
document.querySelectorAll("button").forEach(b => b.onclick = async () => {{
  document.querySelectorAll("button").forEach(x => x.disabled = true);
  const r = await fetch(location.pathname + "/decision", {{method: "POST",
    headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{decision: b.dataset.d, comment: document.getElementById("comment").value}})}});
  document.getElementById("out").textContent = JSON.stringify(await r.json());
}});
</script><script type="application/json" id="claim">{html.escape(json.dumps(summary, ensure_ascii=False))}</script>
</body></html>"""


def refused(reason: str) -> str:
    body = f"<h1>Link refused 連結無效</h1><p>{html.escape(reason)}</p></body></html>"
    return _HEAD.format(title="Link refused 連結無效") + body
