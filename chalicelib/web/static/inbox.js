// The approver's inbox (templates/inbox.html): GET me/approvals with the reader's token, one row a claim (who,
// what, how much, how long it has waited, warnings, on whose behalf), each opening its approval page; ticked rows
// are approved together (POST me/approvals/decisions) and each claim's outcome is a sentence.
import {$, t, esc, money, day, api, session, signIn} from "./core.js";

// How long a claim has waited, as a person says it ("3 h", "2 days").
export function waited(sinceIso, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - new Date(sinceIso).getTime()) / 60000));
  if (minutes < 60) return t("inbox.wait.minutes", {n: minutes});
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return t("inbox.wait.hours", {n: hours});
  const days = Math.floor(hours / 24);
  return days === 1 ? t("inbox.wait.day") : t("inbox.wait.days", {n: days});
}

function amounts(row) {
  const totals = Object.entries(row.totals || {}).map(([c, a]) => money(a, c)).join(" + ");
  const foreign = Object.keys(row.totals || {}).some(c => c !== "HKD");
  return foreign && row.hkd_total ? `${totals} (${t("inbox.hkd", {amount: money(row.hkd_total, "HKD")})})` : totals;
}

function risk(row) {
  if ((row.risk_score || 0) >= 0.7) return `<span class="chip chip-risk-high">${esc(t("inbox.risk.high"))}</span>`;
  const n = (row.risk_reasons || []).length;
  if (!n) return "";
  return `<span class="chip chip-risk">${esc(n === 1 ? t("inbox.risk.one") : t("inbox.risk.some", {count: n}))}</span>`;
}

function claimDay(row) {
  const start = (row.period || [])[0] || (row.expenses || []).map(e => e.date).filter(Boolean).sort()[0];
  return start ? day(start) : "";
}

let rows = [];

function render() {
  const status = $("inbox-status");
  $("batch").hidden = rows.length === 0;
  status.textContent = rows.length === 0 ? t("inbox.empty")
    : rows.length === 1 ? t("inbox.count_one") : t("inbox.count", {count: rows.length});
  $("rows").innerHTML = rows.map((row, i) => {
    const who = row.claimant || {};
    const meta = [claimDay(row), t("inbox.waiting", {time: waited(row.waiting_since)})].filter(Boolean);
    return `<li class="inbox-row">
<span class="pick"><input type="checkbox" id="pick-${i}" value="${esc(row.claim_id)}" aria-label="${esc(t("inbox.pick", {title: row.title}))}"></span>
<a class="row-link" href="${esc(row.path)}">
<span class="row-title">${esc(row.title)}</span>
<span class="row-amount">${esc(amounts(row))}</span>
<span class="row-who">${esc(who.name || t("inbox.someone"))}${who.department ? " · " + esc(who.department) : ""}</span>
<span class="row-meta">${meta.map(esc).join(" · ")} ${risk(row)}${row.for && row.for.name
  ? ` <span class="for">${esc(t("inbox.for", {name: row.for.name}))}</span>` : ""}</span>
</a></li>`;
  }).join("");
  for (const box of document.querySelectorAll("#rows input[type=checkbox]")) box.addEventListener("change", picked);
  picked();
}

function ticked() {
  return [...document.querySelectorAll("#rows input[type=checkbox]:checked")].map(x => x.value);
}

function picked() {
  const n = ticked().length;
  $("batch-approve").textContent = t("inbox.approve_selected", {count: n});
  $("pick-all").checked = n > 0 && n === rows.length;
}

async function load() {
  const answer = await api("GET", "me/approvals");
  if (answer.status !== 200) {
    $("inbox-status").textContent = answer.body && answer.body.error ? t("error.generic") : t("error.generic");
    return;
  }
  rows = answer.body.approvals || [];
  render();
}

function why(error) {
  const said = String(error || "");
  return said.includes("no approval step of yours") || said.includes("no longer waiting")
    || said.includes("already been used") ? t("inbox.error.not_waiting") : t("inbox.error.other");
}

$("pick-all").addEventListener("change", event => {
  for (const box of document.querySelectorAll("#rows input[type=checkbox]")) box.checked = event.target.checked;
  picked();
});

$("batch").addEventListener("submit", async event => {
  event.preventDefault();
  $("batch-error").textContent = "";
  const claims = ticked();
  if (!claims.length) {
    $("batch-error").textContent = t("inbox.select_first");
    return;
  }
  const titles = Object.fromEntries(rows.map(r => [r.claim_id, r.title]));
  const button = $("batch-approve");
  button.disabled = true;
  button.textContent = t("inbox.working");
  const answer = await api("POST", "me/approvals/decisions", {claims, decision: "approve"});
  button.disabled = false;
  if (answer.status !== 200) {
    $("batch-error").textContent = t("error.generic");
    picked();
    return;
  }
  $("batch-out").innerHTML = answer.body.results.map(r => {
    const title = titles[r.claim_id] || "";
    return r.error ? `<li class="error">${esc(t("inbox.done.failed", {title, reason: why(r.error)}))}</li>`
      : `<li class="done">${esc(t("inbox.done.approved", {title}))}</li>`;
  }).join("");
  await load();
});

if (!session.token()) signIn();
else load();
