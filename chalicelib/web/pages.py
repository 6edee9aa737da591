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
    """Phone-first page: sign in (dev token on local/dev), snap a receipt, check what was read, submit;
    finance sees counts per status and the department's claims."""
    return _HEAD.format(title="HK Expense 報銷") + """
<h1>HK Expense 報銷</h1>
<p><label>Employee id 員工編號 <input id="emp" value="E201" size="6"></label>
<button id="login">Sign in 登入</button> <span id="who"></span></p>
<section id="upload" hidden><h2>New receipt 新收據</h2>
<input id="file" type="file" accept="image/*,application/pdf" capture="environment">
<p id="progress"></p>
<form id="review" hidden>
<p id="reasons" class="risk"></p>
<label>Vendor 商戶 <input name="vendor"></label><br>
<label>Date 日期 <input name="receipt_date" type="date"></label><br>
<label>Total 總額 <input name="total" inputmode="decimal" size="10"></label>
<label>Currency 貨幣 <input name="currency" size="4" maxlength="3"></label><br>
<label>Category 類別 <select name="category"><option>meals</option><option>taxi</option><option>travel</option>
<option>entertainment</option><option selected>general</option></select></label><br>
<label>Purpose 用途 <input name="purpose" size="30"></label><br>
<label><input name="urgent" type="checkbox"> Urgent 緊急</label><br>
<button type="submit">Submit 提交</button></form></section>
<section id="mine" hidden><h2>Waiting for me 待我審批</h2><ul id="waiting"></ul>
<button id="batch">Approve selected 批量批准</button> <span id="batched"></span></section>
<h2>Claims 申請</h2><div id="summary"></div><div id="bottlenecks"></div>
<table id="claims"><thead><tr><th>Claim</th><th>Vendor 商戶</th><th>Date</th><th>Total 總額</th>
<th>Status 狀態</th><th>Risk 風險</th><th>Notes 備註</th></tr></thead><tbody></tbody></table>
<script>
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => "&#" + c.charCodeAt(0) + ";");
let token = null, current = null;
const api = async (method, path, body) => {
  const r = await fetch(path, {method, headers: {"Content-Type": "application/json",
    Authorization: "Bearer " + token}, body: body ? JSON.stringify(body) : undefined});
  return {status: r.status, body: await r.json()};
};
async function load() {
  const s = await api("GET", "dashboard/summary");
  document.getElementById("summary").textContent = s.status !== 200 ? "" :
    `${JSON.stringify(s.body.by_status)} · HKD ${JSON.stringify(s.body.hkd_by_status)}` +
    ` · flagged 風險 ${s.body.flagged}` +
    ` · median hours to posting ${s.body.median_hours_to_posting ?? "-"}`;
  const b = await api("GET", "dashboard/approvals");
  document.getElementById("bottlenecks").textContent = b.status !== 200 || !b.body.approvers.length ? "" :
    "Waiting on 待審批: " + b.body.approvers.map(r =>
      `${r.approver_id} ${r.waiting} (oldest 最久 ${r.oldest_hours} h, HKD ${r.hkd_waiting})`).join(" · ");
  const mine = await api("GET", "me/approvals");
  const waiting = mine.status === 200 ? mine.body.approvals : [];
  document.getElementById("mine").hidden = waiting.length === 0;
  document.getElementById("waiting").innerHTML = waiting.map(a =>
    `<li><input type="checkbox" class="pick" value="${esc(a.claim_id)}">
     <a href="${esc(a.link)}">${esc(a.claim_id)}</a> ${esc(a.vendor)} ${esc(a.currency)} ${esc(a.total)}
     ${a.on_behalf_of ? "(for 代 " + esc(a.on_behalf_of) + ")" : ""}</li>`).join("");
  const list = await api("GET", "claims");
  document.querySelector("#claims tbody").innerHTML = (list.body.claims || []).map(c =>
    `<tr><td>${esc(c.claim_id)}</td><td>${esc(c.vendor)}</td><td>${esc(c.receipt_date)}</td>
     <td>${esc(c.total && c.total.currency)} ${esc(c.total && c.total.amount)}</td><td>${esc(c.status)}</td>
     <td class="risk">${esc((c.risk_reasons || []).join("; "))}</td><td>${esc(notes(c))}</td></tr>`).join("");
}
function notes(c) {
  const out = (c.line_items || []).filter(l => l.disallowed_reason).map(l =>
    `${l.description} ${l.amount.amount} disallowed 不批准: ${l.disallowed_reason}`);
  for (const k of ["return_reason", "rejection_reason", "failure_reason", "awaiting_admin"]) if (c[k]) out.push(c[k]);
  return out.join("; ");
}
async function waitForReading(id) {
  for (let i = 0; i < 120; i++) {
    const c = await api("GET", "claims/" + id);
    if (["extracted", "needs_review", "failed"].includes(c.body.status)) return c.body;
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error("the receipt is taking too long to read");
}
document.getElementById("login").onclick = async () => {
  const r = await fetch("dev/token", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({employee_id: document.getElementById("emp").value})});
  const t = await r.json();
  if (!t.token) { document.getElementById("who").textContent = JSON.stringify(t); return; }
  token = t.token;
  document.getElementById("who").textContent = t.roles.join(", ");
  document.getElementById("upload").hidden = false;
  load();
  const linked = new URLSearchParams(location.hash.slice(1)).get("claim");  // a claimant notification links here
  if (linked) {
    const c = await api("GET", "claims/" + encodeURIComponent(linked));
    document.getElementById("progress").textContent = c.status !== 200 ? JSON.stringify(c.body.error) :
      `${c.body.claim_id}: ${c.body.status} ${notes(c.body)}`;
  }
};
document.getElementById("batch").onclick = async () => {
  const claims = [...document.querySelectorAll("input.pick:checked")].map(x => x.value);
  if (!claims.length) return;
  const r = await api("POST", "me/approvals/decisions", {claims, decision: "approve", comment: "batch 批量"});
  document.getElementById("batched").textContent = r.status !== 200 ? JSON.stringify(r.body.error) :
    r.body.results.map(x => `${x.claim_id}: ${x.decision || x.error}`).join("; ");
  load();
};
document.getElementById("file").onchange = async (e) => {
  const file = e.target.files[0];
  const progress = document.getElementById("progress");
  if (!file) return;
  const type = file.type || (file.name.toLowerCase().endsWith(".heic") ? "image/heic" : "");
  const u = await api("POST", "uploads", {filename: file.name, content_type: type, size_bytes: file.size});
  if (u.status !== 201) { progress.textContent = JSON.stringify(u.body.error); return; }
  progress.textContent = "Uploading 上傳中…";
  const form = new FormData();  // the presigned POST: its policy fields first, the file last
  Object.entries(u.body.upload.fields).forEach(([k, v]) => form.append(k, v));
  form.append("file", file);
  const sent = await fetch(u.body.upload.url, {method: u.body.upload.method, body: form});
  if (!sent.ok) { progress.textContent = `Upload refused 上傳被拒 (${sent.status})`; return; }
  progress.textContent = "Reading 識別中…";
  try { current = await waitForReading(u.body.claim_id); } catch (err) { progress.textContent = err.message; return; }
  if (current.status === "failed") { progress.textContent = current.failure_reason; return; }
  progress.textContent = current.status === "needs_review" ? "Please check 請核對" : "Read 已識別";
  const f = document.getElementById("review");
  f.vendor.value = current.vendor || ""; f.receipt_date.value = current.receipt_date || "";
  f.total.value = current.total ? current.total.amount : "";
  f.currency.value = current.total ? current.total.currency : "HKD";
  document.getElementById("reasons").textContent = (current.review_reasons || []).join("; ");
  f.hidden = false;
};
document.getElementById("review").onsubmit = async (e) => {
  e.preventDefault();
  const f = e.target;
  const body = {vendor: f.vendor.value, receipt_date: f.receipt_date.value || null, total: f.total.value,
    currency: f.currency.value.toUpperCase(), category: f.category.value, purpose: f.purpose.value,
    urgent: f.urgent.checked};
  const r = await api("POST", "claims/" + current.claim_id + "/submit", body);
  const done = r.status === 200 ? "Submitted 已提交" : JSON.stringify(r.body.error);
  document.getElementById("progress").textContent = done;
  if (r.status === 200) { f.hidden = true; load(); }
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
{_line_items(summary)}
<textarea id="comment" rows="3" cols="40" placeholder="Comment 備註"></textarea><br>
<button data-d="approve">Approve 批准</button><button data-d="reject">Reject 拒絕</button>
<button data-d="return">Return for correction 退回修改</button><p id="out"></p>
<script>
document.querySelectorAll("button").forEach(b => b.onclick = async () => {{
  const disallow = b.dataset.d !== "approve" ? [] : [...document.querySelectorAll("input.disallow:checked")].map(
    x => ({{line: Number(x.dataset.line), reason: document.getElementById("why-" + x.dataset.line).value
      || "not reimbursable 不予報銷"}}));
  document.querySelectorAll("button").forEach(x => x.disabled = true);
  const r = await fetch(location.pathname + "/decision", {{method: "POST",
    headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{decision: b.dataset.d, comment: document.getElementById("comment").value, disallow}})}});
  document.getElementById("out").textContent = JSON.stringify(await r.json());
  if (r.status >= 400 && r.status < 410) document.querySelectorAll("button").forEach(x => x.disabled = false);
}});
</script><script type="application/json" id="claim">{html.escape(json.dumps(summary, ensure_ascii=False))}</script>
</body></html>"""


def _line_items(summary: dict) -> str:
    """Each line can be disallowed on its own (partial approval); lines already disallowed say by whom and why."""
    lines = summary.get("line_items") or []
    if not lines:
        return ""
    rows = []
    for line in lines:
        n = int(line["line"])
        cells = f"<td>{html.escape(line['description'])}</td><td>{html.escape(line['amount'])}</td>"
        if line.get("disallowed_reason"):
            rows.append(f"<tr class='disallowed'>{cells}<td colspan='2'>Disallowed 不批准: "
                        f"{html.escape(line['disallowed_reason'])}</td></tr>")
        else:
            rows.append(f"<tr>{cells}<td><label><input type='checkbox' class='disallow' data-line='{n}'> "
                        f"Disallow 不批准</label></td><td><input id='why-{n}' maxlength='300' "
                        f"placeholder='Reason 原因'></td></tr>")
    payable = html.escape(str(summary.get("payable") or ""))
    return (f"<h2>Line items 明細</h2><table>{''.join(rows)}</table>"
            f"<p>Payable now 應付金額: {html.escape(str(summary.get('currency') or ''))} {payable}</p>")


def refused(reason: str) -> str:
    body = f"<h1>Link refused 連結無效</h1><p>{html.escape(reason)}</p></body></html>"
    return _HEAD.format(title="Link refused 連結無效") + body
