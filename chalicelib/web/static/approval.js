// The approval page (chalicelib/web/pages.py approval): decide from the link, optionally disallowing whole
// expenses or a receipt's lines; the payable amount follows what is ticked.
const DONE = {approved: "Approved 已批准", rejected: "Rejected 已拒絕", returned: "Returned for correction 已退回修改"};
const cents = v => Math.round(Number(v || 0) * 100);
const money = c => (c / 100).toLocaleString("en-HK", {minimumFractionDigits: 2, maximumFractionDigits: 2});
const reasonOf = box => (box.closest("td, p").querySelector("input.why") || {}).value || "not reimbursable 不予報銷";
// Per currency: each expense's total, nothing for one disallowed, less its disallowed lines (views.summary's rule).
function payable() {
  const by = {};
  document.querySelectorAll("article.expense").forEach(a => {
    const cur = a.dataset.currency;
    if (!cur) return;
    const whole = a.dataset.cut || a.querySelector("input.disallow-expense:checked");
    let pay = whole ? 0 : cents(a.dataset.total);
    if (!whole) a.querySelectorAll("table.lines tr").forEach(tr => {
      if (tr.classList.contains("disallowed") || tr.querySelector("input.disallow:checked")) pay -= cents(tr.dataset.amount);
    });
    by[cur] = (by[cur] || 0) + pay;
  });
  const out = document.getElementById("payable");
  if (out && Object.keys(by).length) out.textContent = Object.keys(by).sort().map(c => `${c} ${money(by[c])}`).join(" + ");
}
document.querySelectorAll("input.disallow, input.disallow-expense").forEach(box => box.onchange = () => {
  const article = box.closest("article.expense");
  if (box.classList.contains("disallow-expense") && article) {  // a whole expense cut: its lines go with it
    article.classList.toggle("cut", box.checked);
    article.querySelectorAll("input.disallow").forEach(x => { x.disabled = box.checked; });
  }
  payable();
});
document.querySelectorAll("button[data-d]").forEach(b => b.onclick = async () => {
  const approving = b.dataset.d === "approve";
  const wholes = [...document.querySelectorAll("input.disallow-expense:checked")];
  const cutIds = new Set(wholes.map(x => x.dataset.expense));
  const disallow = !approving ? [] : [
    ...wholes.map(x => ({expense_id: x.dataset.expense, reason: reasonOf(x)})),
    ...[...document.querySelectorAll("input.disallow:checked")].filter(x => !cutIds.has(x.dataset.expense)).map(
      x => ({...(x.dataset.expense ? {expense_id: x.dataset.expense} : {}), line: Number(x.dataset.line),
        reason: reasonOf(x)}))];
  document.querySelectorAll("button[data-d]").forEach(x => x.disabled = true);
  const headers = {"Content-Type": "application/json"};
  const stepUp = document.getElementById("step-up");
  if (stepUp) {  // decided in the approver's own session: sign in first (dev/token on the local and dev stages)
    const t = await fetch("../dev/token", {method: "POST", headers,
      body: JSON.stringify({employee_id: stepUp.dataset.approver})});
    if (t.ok) headers.Authorization = "Bearer " + (await t.json()).token;
  }
  const r = await fetch(location.pathname + "/decision", {method: "POST", headers,
    body: JSON.stringify({decision: b.dataset.d, comment: document.getElementById("comment").value, disallow})});
  const body = await r.json();
  const title = JSON.parse(document.getElementById("claim").textContent).title || body.claim_id;
  document.getElementById("out").textContent = r.ok ? `${DONE[body.decision] || body.decision} · ${title}`
    : (typeof body.error === "string" ? body.error : "The decision was not accepted 未能提交決定");
  if (r.status >= 400 && r.status < 410) document.querySelectorAll("button[data-d]").forEach(x => x.disabled = false);
});
