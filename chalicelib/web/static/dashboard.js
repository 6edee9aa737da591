// The dashboard page (chalicelib/web/pages.py dashboard): served as a file under script-src 'self'.
// A receipt arrives as an expense: read, corrected, then submitted on its own or put in a claim (報銷單).
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => "&#" + c.charCodeAt(0) + ";");
let token = null, me = null, desk = false, current = null, drafts = [], loads = 0;
const STATUS = {uploaded: "Uploaded 已上傳", extracted: "Read 已識別", needs_review: "To check 待核對",
  entered: "Entered 已輸入", draft: "Draft 草稿", submitted: "Submitted 已提交", scored: "Checked 已評估",
  in_approval: "Awaiting approval 審批中", approved: "Approved 已批准", rejected: "Rejected 已拒絕",
  returned: "Returned 已退回", posted: "Paid 已入賬", failed: "Needs attention 需跟進"};
const EDITABLE = ["draft", "returned"];
const money = v => Number(v ?? 0).toLocaleString("en-HK", {minimumFractionDigits: 2, maximumFractionDigits: 2});
const $ = id => document.getElementById(id);
// An API error as words: the message when there is one, the fields a validation error names otherwise.
const words = e => typeof e === "string" ? e : Array.isArray(e) ?
  e.map(x => `${(x.loc || []).join(".")}: ${x.msg}`).join("; ") : "Something went wrong 出現錯誤";
const api = async (method, path, body) => {
  const r = await fetch(path, {method, headers: {"Content-Type": "application/json",
    Authorization: "Bearer " + token}, body: body ? JSON.stringify(body) : undefined});
  return {status: r.status, body: await r.json()};
};
// GET /claims lists claims without their summary: name and total them as views.summary does (title, amounts).
const label = e => e.kind === "mileage" ? `mileage ${e.applied_rate ? Number(e.applied_rate.quantity) + " km" : ""}`
  : e.kind === "per_diem" ? `per diem ${(e.rate_details || {}).destination || ""}` : e.vendor || e.description || "receipt";
const headline = c => c.summary ? c.summary.title : c.title ||
  (c.expenses.length === 1 ? label(c.expenses[0]) : `${c.expenses.length} expenses 項開支`);
function amounts(c, payable = false) {
  if (c.summary) return payable ? c.summary.payable_amounts : c.summary.amounts;
  const by = {};
  for (const e of c.expenses) if (e.total) by[e.total.currency] = (by[e.total.currency] || 0) +
    (!payable ? Number(e.total.amount) : e.disallowed_reason ? 0 : Number(e.total.amount) -
      (e.line_items || []).filter(l => l.disallowed_reason).reduce((n, l) => n + Number(l.amount.amount), 0));
  return Object.keys(by).sort().map(k => `${k} ${money(by[k])}`).join(" + ") || "no amount 未有金額";
}
const when = c => (c.period_start ? [c.period_start, c.period_end].filter(Boolean).join(" – ") :
  c.expenses.map(e => e.receipt_date).filter(Boolean).sort()[0]) || c.created_at.slice(0, 10);

// Everything the page lists, fetched afresh and shown only if no later load started meanwhile (one at a time).
async function load() {
  const mine = ++loads, none = {status: 0, body: {}};
  const [s, b, w, list, loose] = await Promise.all([desk ? api("GET", "dashboard/summary") : none,
    desk ? api("GET", "dashboard/approvals") : none, api("GET", "me/approvals"), api("GET", "claims"),
    api("GET", "expenses")]);
  const claims = list.body.claims || [];
  const editable = claims.filter(c => c.employee_id === me && EDITABLE.includes(c.status));
  const opened = (await Promise.all(editable.map(c => api("GET", "claims/" + encodeURIComponent(c.claim_id)))))
    .filter(r => r.status === 200).map(r => r.body);
  if (mine !== loads) return;
  $("summary").textContent = s.status !== 200 ? "" :
    Object.entries(s.body.by_status).map(([status, n]) =>
      `${STATUS[status] || status} ${n} (HKD ${money(s.body.hkd_by_status[status])})`).join(" · ") +
    ` · flagged 風險 ${s.body.flagged}` +
    ` · median hours to posting ${s.body.median_hours_to_posting ?? "-"}`;
  $("bottlenecks").textContent = b.status !== 200 || !b.body.approvers.length ? "" :
    "Waiting on 待審批: " + b.body.approvers.map(r =>
      `${r.approver_id} ${r.waiting} (oldest 最久 ${r.oldest_hours} h, HKD ${r.hkd_waiting})`).join(" · ");
  const waiting = w.status === 200 ? w.body.approvals : [];
  $("mine").hidden = waiting.length === 0;
  $("waiting").innerHTML = waiting.map(a =>
    `<li><label><input type="checkbox" class="pick" value="${esc(a.claim_id)}">
     <a href="${esc(a.link)}">${esc(a.title)}</a></label> ${esc(a.amounts)} · ${esc(a.employee_id)}
     ${a.on_behalf_of ? "(for 代 " + esc(a.on_behalf_of) + ")" : ""}</li>`).join("");
  $("claims").querySelector("tbody").innerHTML = claims.map(c =>
    `<tr><td>${esc(headline(c))}</td><td>${esc(when(c))}</td><td>${esc(amounts(c))}${amounts(c, true) !== amounts(c) ?
     `<br><small>pays 應付 ${esc(amounts(c, true))}</small>` : ""}</td>
     <td>${esc(STATUS[c.status] || c.status)}</td>
     <td class="risk">${esc((c.risk_reasons || []).join("; "))}</td><td>${esc(notes(c))}</td></tr>`).join("");
  showMine(opened, loose.status === 200 ? loose.body.expenses : []);
}
// My draft and returned claims, each with what it holds and what can be added; my unattached receipts.
function showMine(opened, found) {
  drafts = opened;
  const cards = drafts.map(draftCard).join("");  // redrawn only when changed, keeping half-filled line forms
  if (cards !== $("drafts").dataset.shown) {
    const kept = {};
    $("drafts").querySelectorAll("form.line").forEach(f => { kept[f.dataset.c + f.dataset.kind] =
      {open: f.parentElement.open, values: [...f.elements].filter(x => x.name).map(x => [x.name, x.value])}; });
    $("drafts").innerHTML = $("drafts").dataset.shown = cards;
    $("drafts").querySelectorAll("form.line").forEach(f => {
      const k = kept[f.dataset.c + f.dataset.kind];
      if (!k) return;
      f.parentElement.open = k.open;
      k.values.forEach(([name, value]) => { if (f.elements[name]) f.elements[name].value = value; });
    });
  }
  const into = $("review").elements.into;
  into.innerHTML = drafts.map(c => `<option value="${esc(c.claim_id)}">${esc(c.summary.title)}</option>`).join("");
  $("add-to").disabled = into.disabled = drafts.length === 0;
  $("no-draft").hidden = drafts.length > 0;
  $("loose").hidden = !found.some(e => !current || e.expense_id !== current.expense_id);
  $("unattached").innerHTML = found.filter(e => !current || e.expense_id !== current.expense_id).map(e => `<li>${esc(e.summary.label)} · ${esc(e.summary.date || "")}
    ${e.summary.total ? esc(e.summary.currency + " " + money(e.summary.total)) : ""}
    · ${esc(STATUS[e.status] || e.status)}
    <button type="button" class="check" data-e="${esc(e.expense_id)}">Check 核對</button></li>`).join("");
}
function draftCard(c) {
  const s = c.summary, id = esc(c.claim_id);
  const rows = s.expenses.map(e => `<li>${esc(e.label)} · ${esc(e.date || "")} ·
    ${e.total ? esc(e.currency + " " + money(e.total)) : "no amount 未有金額"} · ${esc(e.category)}
    ${e.rate ? `<br><small>${esc(e.rate.working)}</small>` : ""}
    ${e.fix_requested ? `<br><span class="risk">Fix 請修改: ${esc(e.fix_requested)}</span>` : ""}
    <button type="button" class="remove" data-c="${id}" data-e="${esc(e.expense_id)}">Remove 移除</button></li>`);
  const today = new Date().toISOString().slice(0, 10);
  return `<article class="claim"><h3>${esc(s.title)} <small>${esc(STATUS[c.status] || c.status)}</small></h3>
    ${c.purpose ? `<p>${esc(c.purpose)}</p>` : ""}
    ${c.return_reason ? `<p class="risk">Returned 已退回: ${esc(c.return_reason)}</p>` : ""}
    <ul>${rows.join("") || "<li>Nothing yet: add a receipt or a line 尚無開支</li>"}</ul>
    <p>Total 總額: ${s.expenses.length ? esc(s.amounts) : "—"}</p>
    <details><summary>Add mileage 里程</summary><form class="line" data-c="${id}" data-kind="mileage">
    <label>Vehicle 車輛 <select name="vehicle"><option value="private_car">Private car 私家車</option>
    <option value="motorcycle">Motorcycle 電單車</option></select></label>
    <label>Distance 距離 (km) <input name="distance_km" inputmode="decimal" size="6" required></label>
    <label>Date 日期 <input name="date" type="date" value="${today}" required></label>
    <label>Route 路線 <input name="description" size="24" required placeholder="Office → client 公司 → 客戶"></label>
    <button type="submit">Add 加入</button></form></details>
    <details><summary>Add per diem 每日津貼</summary><form class="line" data-c="${id}" data-kind="per_diem">
    <label>Destination 目的地 <select name="destination"><option value="HK">Hong Kong 香港</option>
    <option value="CN-SZ">Shenzhen 深圳</option><option value="CN">Mainland China 中國內地</option>
    <option value="MO">Macau 澳門</option><option value="overseas">Overseas 海外</option></select></label>
    <label>Days 日數 <input name="days" inputmode="decimal" size="4" required></label>
    <label>First day 首日 <input name="date" type="date" value="${today}" required></label><br>
    Meals provided 已提供膳食: <label>breakfast 早餐 <input name="breakfast" type="number" min="0" value="0"></label>
    <label>lunch 午餐 <input name="lunch" type="number" min="0" value="0"></label>
    <label>dinner 晚餐 <input name="dinner" type="number" min="0" value="0"></label>
    <button type="submit">Add 加入</button></form></details>
    <button type="button" class="submit-claim" data-c="${id}">Submit claim 提交</button>
    <p class="msg" id="msg-${id}" role="status"></p></article>`;
}
function notes(c) {
  const out = [];
  for (const e of c.expenses || []) {
    if (e.disallowed_reason) out.push(`${label(e)} disallowed 不批准: ${e.disallowed_reason}`);
    for (const l of e.line_items || []) if (l.disallowed_reason)
      out.push(`${l.description} ${l.amount.amount} disallowed 不批准: ${l.disallowed_reason}`);
  }
  for (const k of ["return_reason", "rejection_reason", "failure_reason", "awaiting_admin"]) if (c[k]) out.push(c[k]);
  return out.join("; ");
}
async function waitForReading(id) {
  for (let i = 0; i < 120; i++) {
    const e = await api("GET", "expenses/" + encodeURIComponent(id));
    if (e.status !== 200) throw new Error(words(e.body.error));
    if (["extracted", "needs_review", "failed"].includes(e.body.status)) return e.body;
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error("The receipt is taking too long to read 識別時間過長");
}
// What was read, in the form the employee corrects before submitting it or putting it in a claim.
function review(expense) {
  current = expense;
  const f = $("review");
  if (expense.status === "failed") {
    $("progress").textContent = `Could not read 無法識別: ${expense.failure_reason || ""}`; f.hidden = true; return;
  }
  $("progress").textContent = expense.status === "needs_review" ? "Please check 請核對" : "Read 已識別";
  f.vendor.value = expense.vendor || ""; f.receipt_date.value = expense.receipt_date || "";
  f.total.value = expense.total ? expense.total.amount : "";
  f.currency.value = expense.total ? expense.total.currency : "HKD";
  f.category.value = expense.category || "general";
  f.purpose.value = expense.description || "";
  $("reasons").textContent = (expense.review_reasons || []).join("; ");
  f.hidden = false;
  f.scrollIntoView({block: "nearest"});
}
const corrections = f => ({vendor: f.vendor.value, receipt_date: f.receipt_date.value || null,
  total: f.total.value || null, currency: f.currency.value.toUpperCase() || null, category: f.category.value,
  description: f.purpose.value});
async function correct() {  // PATCH the expense with what the form says; true when it was accepted
  const r = await api("PATCH", "expenses/" + encodeURIComponent(current.expense_id), corrections($("review")));
  if (r.status !== 200) $("progress").textContent = words(r.body.error);
  return r.status === 200;
}
function doneWithReceipt(message) {
  $("progress").textContent = message;
  $("review").hidden = true; $("file").value = ""; current = null;
  load();
}
// Signed in on the sign-in page (the token in sessionStorage, as core.js keeps it); who it is from GET /me.
(async () => {
  token = sessionStorage.getItem("hk-expense-token");
  const who = token ? await api("GET", "me") : {status: 401};
  if (who.status !== 200) {
    sessionStorage.removeItem("hk-expense-token");
    location.assign("signin?next=" + encodeURIComponent(location.hash ? "./" + location.hash : ""));
    return;
  }
  me = who.body.employee_id;
  desk = who.body.roles.some(r => ["finance", "auditor", "admin"].includes(r));  // the dashboard/* figures are theirs
  $("upload").hidden = $("reports").hidden = false;
  load();
  const linked = new URLSearchParams(location.hash.slice(1)).get("claim");  // a claimant notification links here
  if (linked) {
    const c = await api("GET", "claims/" + encodeURIComponent(linked));
    $("progress").textContent = c.status !== 200 ? words(c.body.error) :
      `${c.body.summary.title}: ${STATUS[c.body.status] || c.body.status} · ${c.body.summary.amounts} ${notes(c.body)}`;
  }
})();
document.getElementById("batch").onclick = async () => {
  const claims = [...document.querySelectorAll("input.pick:checked")].map(x => x.value);
  if (!claims.length) return;
  const r = await api("POST", "me/approvals/decisions", {claims, decision: "approve", comment: "batch 批量"});
  $("batched").textContent = r.status !== 200 ? words(r.body.error) :
    r.body.results.map(x => `${x.claim_id}: ${x.decision || x.error}`).join("; ");
  load();
};
document.getElementById("file").onchange = async (e) => {
  const file = e.target.files[0];
  const progress = $("progress");
  if (!file) return;
  $("review").hidden = true;
  const type = file.type || (file.name.toLowerCase().endsWith(".heic") ? "image/heic" : "");
  const u = await api("POST", "uploads", {filename: file.name, content_type: type, size_bytes: file.size});
  if (u.status !== 201) { progress.textContent = words(u.body.error); return; }
  progress.textContent = "Uploading 上傳中…";
  const form = new FormData();  // the presigned POST: its policy fields first, the file last
  Object.entries(u.body.upload.fields).forEach(([k, v]) => form.append(k, v));
  form.append("file", file);
  const sent = await fetch(u.body.upload.url, {method: u.body.upload.method, body: form});
  if (!sent.ok) { progress.textContent = `Upload refused 上傳被拒 (${sent.status})`; return; }
  progress.textContent = "Reading 識別中…";
  try { review(await waitForReading(u.body.expense_id)); } catch (err) { progress.textContent = err.message; }
  load();
};
document.getElementById("review").onsubmit = async (e) => {  // submit on its own: a one-expense claim
  e.preventDefault();
  const f = e.target;
  const body = {...corrections(f), purpose: f.purpose.value, urgent: f.urgent.checked};
  const r = await api("POST", "expenses/" + encodeURIComponent(current.expense_id) + "/submit", body);
  if (r.status === 201 || r.status === 200) {
    doneWithReceipt(`Submitted 已提交: ${r.body.summary.title} · ${r.body.summary.amounts}`);
  } else $("progress").textContent = words(r.body.error);
};
document.getElementById("add-to").onclick = async () => {
  const into = $("review").elements.into.value;
  if (!into || !(await correct())) return;
  const r = await api("POST", "claims/" + encodeURIComponent(into) + "/expenses", {expense_ids: [current.expense_id]});
  if (r.status === 201) doneWithReceipt(`Added to 已加入 ${r.body.summary.title} · ${r.body.summary.amounts}`);
  else $("progress").textContent = words(r.body.error);
};
document.getElementById("keep").onclick = async () => {
  if (await correct()) doneWithReceipt("Kept in my unattached receipts 已保存於未歸入的收據");
};
document.getElementById("new-claim").onsubmit = async (e) => {
  e.preventDefault();
  const f = e.target;
  const r = await api("POST", "claims", {title: f.elements.title.value, purpose: f.elements.purpose.value});
  $("claim-msg").textContent = r.status === 201 ? `Created 已建立: ${r.body.summary.title}` : words(r.body.error);
  if (r.status === 201) { f.reset(); load(); }
};
document.getElementById("unattached").onclick = async (e) => {
  const id = e.target.dataset.e;
  if (!e.target.classList.contains("check") || !id) return;
  const r = await api("GET", "expenses/" + encodeURIComponent(id));
  if (r.status === 200) review(r.body); else $("progress").textContent = words(r.body.error);
};
// The draft claims' own buttons and forms (rendered by draftCard): remove, add a line, submit.
const claimMsg = (id, text) => { const p = $("msg-" + id); if (p) p.textContent = text; };
document.getElementById("drafts").onclick = async (e) => {
  const t = e.target, id = t.dataset.c;
  if (!id) return;
  if (t.classList.contains("remove")) {
    const r = await api("DELETE", `claims/${encodeURIComponent(id)}/expenses/${encodeURIComponent(t.dataset.e)}`);
    if (r.status === 200) load(); else claimMsg(id, words(r.body.error));
  } else if (t.classList.contains("submit-claim")) {
    t.disabled = true;
    const r = await api("POST", `claims/${encodeURIComponent(id)}/submit`, {});
    if (r.status === 200) { $("claim-msg").textContent = `Submitted 已提交: ${r.body.summary.title} · ` +
      r.body.summary.amounts; load(); } else { claimMsg(id, words(r.body.error)); t.disabled = false; }
  }
};
document.getElementById("drafts").onsubmit = async (e) => {
  e.preventDefault();
  const f = e.target, id = f.dataset.c;
  const line = f.dataset.kind === "mileage" ?
    {kind: "mileage", vehicle: f.vehicle.value, distance_km: f.distance_km.value, date: f.date.value,
      description: f.description.value} :
    {kind: "per_diem", destination: f.destination.value, days: f.days.value, date: f.date.value,
      meals_provided: Object.fromEntries(["breakfast", "lunch", "dinner"].map(m => [m, Number(f[m].value || 0)])
        .filter(([, n]) => n > 0))};
  const r = await api("POST", `claims/${encodeURIComponent(id)}/expenses`, {line});
  if (r.status !== 201) { claimMsg(id, words(r.body.error)); return; }
  f.reset(); f.parentElement.open = false;
  load();
};
