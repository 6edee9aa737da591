// The dashboard page (chalicelib/web/pages.py dashboard): served as a file under script-src 'self'.
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => "&#" + c.charCodeAt(0) + ";");
let token = null, current = null;
const STATUS = {uploaded: "Uploaded 已上傳", extracted: "Read 已識別", needs_review: "To check 待核對",
  submitted: "Submitted 已提交", scored: "Checked 已評估", in_approval: "Awaiting approval 審批中",
  approved: "Approved 已批准", rejected: "Rejected 已拒絕", returned: "Returned 已退回", posted: "Paid 已入賬",
  failed: "Needs attention 需跟進"};
const money = v => Number(v ?? 0).toLocaleString("en-HK", {minimumFractionDigits: 2, maximumFractionDigits: 2});
// An API error as words: the message when there is one, the fields a validation error names otherwise.
const words = e => typeof e === "string" ? e : Array.isArray(e) ?
  e.map(x => `${(x.loc || []).join(".")}: ${x.msg}`).join("; ") : "Something went wrong 出現錯誤";
const api = async (method, path, body) => {
  const r = await fetch(path, {method, headers: {"Content-Type": "application/json",
    Authorization: "Bearer " + token}, body: body ? JSON.stringify(body) : undefined});
  return {status: r.status, body: await r.json()};
};
async function load() {
  const s = await api("GET", "dashboard/summary");
  document.getElementById("summary").textContent = s.status !== 200 ? "" :
    Object.entries(s.body.by_status).map(([status, n]) =>
      `${STATUS[status] || status} ${n} (HKD ${money(s.body.hkd_by_status[status])})`).join(" · ") +
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
  if (!t.token) { document.getElementById("who").textContent = words(t.error); return; }
  token = t.token;
  document.getElementById("who").textContent = t.roles.join(", ");
  document.getElementById("upload").hidden = false;
  load();
  const linked = new URLSearchParams(location.hash.slice(1)).get("claim");  // a claimant notification links here
  if (linked) {
    const c = await api("GET", "claims/" + encodeURIComponent(linked));
    document.getElementById("progress").textContent = c.status !== 200 ? words(c.body.error) :
      `${c.body.claim_id}: ${c.body.status} ${notes(c.body)}`;
  }
};
document.getElementById("batch").onclick = async () => {
  const claims = [...document.querySelectorAll("input.pick:checked")].map(x => x.value);
  if (!claims.length) return;
  const r = await api("POST", "me/approvals/decisions", {claims, decision: "approve", comment: "batch 批量"});
  document.getElementById("batched").textContent = r.status !== 200 ? words(r.body.error) :
    r.body.results.map(x => `${x.claim_id}: ${x.decision || x.error}`).join("; ");
  load();
};
document.getElementById("file").onchange = async (e) => {
  const file = e.target.files[0];
  const progress = document.getElementById("progress");
  if (!file) return;
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
  const done = r.status === 200 ? "Submitted 已提交" : words(r.body.error);
  document.getElementById("progress").textContent = done;
  if (r.status === 200) { f.hidden = true; load(); }
};
