// The approval page (chalicelib/web/pages.py approval): decide from the link, optionally disallowing lines.
const DONE = {approved: "Approved 已批准", rejected: "Rejected 已拒絕", returned: "Returned for correction 已退回修改"};
document.querySelectorAll("button").forEach(b => b.onclick = async () => {
  const disallow = b.dataset.d !== "approve" ? [] : [...document.querySelectorAll("input.disallow:checked")].map(
    x => ({line: Number(x.dataset.line), reason: document.getElementById("why-" + x.dataset.line).value
      || "not reimbursable 不予報銷"}));
  document.querySelectorAll("button").forEach(x => x.disabled = true);
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
  document.getElementById("out").textContent = r.ok ? `${DONE[body.decision] || body.decision} · ${body.claim_id}`
    : (typeof body.error === "string" ? body.error : "The decision was not accepted 未能提交決定");
  if (r.status >= 400 && r.status < 410) document.querySelectorAll("button").forEach(x => x.disabled = false);
});
