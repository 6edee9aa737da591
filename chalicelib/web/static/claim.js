// The claim page (/claim/{id}): the claim and its timeline fetched with the reader's token; each expense as a card
// with its receipt (tap to zoom), totals with HKD equivalents, who holds the claim now; for its owner, while it is
// a draft or returned, edit mode (correct, remove, add receipts and lines, submit or resubmit).
import {$, api, categoryText, day, esc, kindText, money, root, session, statusChip, statusText, t, when, errorText}
  from "./core.js";

const pageEl = $("claim-page");
const claimId = pageEl.dataset.claimId;
const claimPath = `claims/${encodeURIComponent(claimId)}`;
const CATEGORIES = ["meals", "entertainment", "taxi", "travel", "general"];
const MEALS = ["breakfast", "lunch", "dinner"];
let current = null; // {claim, view}

// ---- words -------------------------------------------------------------------------------------------------

const vehicleText = v => { const k = "claim.vehicle." + v, s = t(k); return s === k ? v : s; };
const destinationText = d => { const k = "claim.destination." + d, s = t(k); return s === k ? d : s; };
const personText = p => !p || !p.name ? t("claim.someone")
  : p.department ? t("claim.person", {name: p.name, department: p.department}) : p.name;
const amountOf = m => m ? money(m.amount, m.currency) : "";

function expenseLabel(e) {
  if (e.kind === "mileage" && e.applied_rate) return t("claim.label.mileage", {km: Number(e.applied_rate.quantity)});
  if (e.kind === "per_diem") return t("claim.label.per_diem", {where: destinationText((e.rate_details || {}).destination || "")});
  return e.vendor || e.description || kindText(e.kind);
}

// How a mileage or per-diem amount was reached, from the rate the line recorded (not the English working text).
function working(e) {
  const r = e.applied_rate;
  if (!r) return "";
  const details = e.rate_details || {};
  const rate = money(r.rate.amount, r.rate.currency);
  if (e.kind === "mileage") {
    return t("claim.working.mileage", {km: Number(r.quantity), rate, vehicle: vehicleText(details.vehicle || "")})
      + " = " + amountOf(r.amount);
  }
  let text = t("claim.working.per_diem", {days: Number(r.quantity), rate,
    where: destinationText(details.destination || "")});
  const meals = MEALS.filter(m => Number(details[m + "_provided"] || 0) > 0)
    .map(m => t("claim.working.meal", {count: Number(details[m + "_provided"]), meal: t("claim.meal." + m)}));
  if (meals.length) text += " " + t("claim.working.less_meals", {meals: meals.join(t("claim.list_separator"))});
  return text + " = " + amountOf(r.amount);
}

// ---- receipts and the zoom dialog ---------------------------------------------------------------------------

// A short-lived link to the receipt as read: the API answers {url} when asked for JSON (an <img> cannot carry the
// bearer token, so it never points at the API).
// Kept for a few minutes (the link lives up to five), so re-drawing the page after an edit does not fetch it again.
const receiptUrls = new Map();
async function receiptUrl(expenseId) {
  const kept = receiptUrls.get(expenseId);
  if (kept && Date.now() - kept.at < 120_000) return kept.url;
  const url = await fetchReceiptUrl(expenseId);
  if (url) receiptUrls.set(expenseId, {url, at: Date.now()});
  return url;
}
async function fetchReceiptUrl(expenseId) {
  try {
    const r = await fetch(`${root}expenses/${encodeURIComponent(expenseId)}/receipt`,
      {headers: {Accept: "application/json", Authorization: "Bearer " + session.token()}});
    return r.ok ? (await r.json()).url : null;
  } catch {
    return null;
  }
}

const ZOOMS = [1, 1.5, 2, 3, 4];
let zoomAt = 0;
// Level 1 fits the whole receipt in the dialog (its width or its height, whichever binds); each step enlarges it.
function fitWidth() {
  const img = $("zoom-img"), frame = $("zoom-frame");
  if (!img.naturalWidth || !img.naturalHeight) return frame.clientWidth;
  return Math.min(frame.clientWidth, img.naturalWidth * frame.clientHeight / img.naturalHeight);
}
function setZoom(i) {
  zoomAt = Math.max(0, Math.min(ZOOMS.length - 1, i));
  $("zoom-img").style.width = `${Math.round(fitWidth() * ZOOMS[zoomAt])}px`; // CSSOM, not a style attribute (CSP)
  $("zoom-out").disabled = zoomAt === 0;
  $("zoom-in").disabled = zoomAt === ZOOMS.length - 1;
}
function openZoom(img, label) {
  $("zoom-img").src = img.src;
  $("zoom-img").alt = img.alt;
  $("zoom-h").textContent = label;
  $("zoom").showModal();
  setZoom(0);
  $("zoom-close").focus();
}
$("zoom-img").addEventListener("load", () => setZoom(zoomAt));
window.addEventListener("resize", () => { if ($("zoom").open) setZoom(zoomAt); });
$("zoom-in").addEventListener("click", () => setZoom(zoomAt + 1));
$("zoom-out").addEventListener("click", () => setZoom(zoomAt - 1));
$("zoom-close").addEventListener("click", () => $("zoom").close());
$("zoom").addEventListener("keydown", ev => {
  if (ev.key === "+" || ev.key === "=") { setZoom(zoomAt + 1); ev.preventDefault(); }
  if (ev.key === "-") { setZoom(zoomAt - 1); ev.preventDefault(); }
});
$("zoom").addEventListener("click", ev => { if (ev.target === $("zoom")) $("zoom").close(); }); // the backdrop

async function showReceipt(e, holder) {
  const url = await receiptUrl(e.expense_id);
  if (!url) {
    holder.innerHTML = `<p class="hint">${esc(t("claim.receipt.unavailable"))}</p>`;
    return;
  }
  const label = t("claim.receipt.of", {what: expenseLabel(e)});
  if ((e.content_type || "").startsWith("text/html")) {  // an e-mailed receipt: evidence to download, never rendered
    holder.innerHTML = `<a class="receipt-link" href="${esc(url)}" download rel="noopener">${esc(t("claim.receipt.email"))}</a>`;
    return;
  }
  if ((e.content_type || "").includes("pdf")) {
    holder.innerHTML = `<a class="receipt-link" href="${esc(url)}" target="_blank" rel="noopener">${esc(t("claim.receipt.pdf"))}</a>`;
    return;
  }
  holder.innerHTML = `<button type="button" class="receipt-open" aria-haspopup="dialog">
    <img class="receipt-img" alt="${esc(label)}"><span class="receipt-hint">${esc(t("claim.receipt.enlarge"))}</span></button>`;
  const img = holder.querySelector("img");
  img.src = url;
  holder.querySelector("button").addEventListener("click", () => openZoom(img, label));
  if (e.source_part !== null && e.source_part !== undefined) {  // one of several receipts in one photo or PDF
    holder.insertAdjacentHTML("beforeend", `<p class="hint receipt-part">${esc(t("claim.receipt.part",
      {where: t("receipt.where." + partPosition(e.source_region)), page: e.source_page || 1}))}</p>`);
  }
}

// Where a receipt of a multi-receipt file lies on its page, as Expense.part_position says it on the server.
function partPosition(region) {
  if (!region) return "middle";
  const x = region.left + region.width / 2, y = region.top + region.height / 2;
  if (x < 0.4 || x > 0.6) return x < 0.4 ? "left" : "right";
  if (y < 0.4 || y > 0.6) return y < 0.4 ? "top" : "bottom";
  return "middle";
}

// ---- the page ----------------------------------------------------------------------------------------------

function expenseCard(e, s, editable) {
  const total = e.total ? amountOf(e.total) : t("claim.no_amount");
  const facts = [
    e.receipt_date ? [t("claim.field.date"), day(e.receipt_date)] : null,
    [t("claim.field.amount"), total],
    [t("claim.field.category"), categoryText(e.category)],
    e.description && e.kind !== "mileage" ? [t("claim.field.description"), e.description] : null,
    e.kind === "mileage" && e.description ? [t("claim.field.route"), e.description] : null,
    e.attendees ? [t("claim.field.attendees"), String(e.attendees)] : null,
  ].filter(Boolean);
  const lines = (e.line_items || []).map((li, i) => {
    const cut = li.disallowed_reason;
    return `<tr class="${cut ? "cut" : ""}"><td>${esc(li.description)}${cut ? `<br><span class="cut-why">${
      esc(t("claim.disallowed.reason", {reason: cut}))}</span>` : ""}</td><td class="num">${
      esc(money(li.amount.amount, li.amount.currency))}</td></tr>`;
  }).join("");
  const payable = s && s.payable !== null && e.total && s.payable !== Number(e.total.amount).toFixed(2)
    && (e.disallowed_reason || (e.line_items || []).some(li => li.disallowed_reason));
  const w = working(e);
  const fix = e.fix_requested;
  const hasReceipt = e.kind === "receipt" && e.s3_key;
  return `<article class="expense-card${hasReceipt ? "" : " no-receipt"}${e.disallowed_reason ? " disallowed" : ""}${fix ? " fix" : ""}"
      data-e="${esc(e.expense_id)}" aria-labelledby="h-${esc(e.expense_id)}">
    ${hasReceipt ? `<div class="receipt-box"><p class="hint">${esc(t("claim.receipt.loading"))}</p></div>` : ""}
    <div class="expense-body">${hasReceipt ? "" : `<p class="kind-badge">${esc(kindText(e.kind))}</p>`}
      <h3 id="h-${esc(e.expense_id)}">${esc(expenseLabel(e))} ${e.status && e.status !== "extracted" && e.status !== "entered" ? statusChip(e.status) : ""}</h3>
      ${fix ? `<p class="fix-note" role="note"><strong>${esc(t("claim.fix.asked"))}</strong> ${esc(fix)}</p>` : ""}
      <dl class="facts">${facts.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join("")}</dl>
      ${w ? `<p class="working">${esc(w)}</p>` : ""}
      ${e.applied_rate ? `<p class="hint">${esc(t("claim.rate_source", {source: e.applied_rate.source}))}</p>` : ""}
      ${e.lost_receipt_reason ? `<p class="working">${esc(t("claim.lost_reason", {reason: e.lost_receipt_reason}))}</p>` : ""}
      ${lines ? `<table class="lines"><caption>${esc(t("claim.lines"))}</caption>
        <thead><tr><th scope="col">${esc(t("claim.line.item"))}</th><th scope="col" class="num">${esc(t("claim.field.amount"))}</th></tr></thead>
        <tbody>${lines}</tbody></table>` : ""}
      ${e.disallowed_reason ? `<p class="cut-why">${esc(t("claim.disallowed.expense", {reason: e.disallowed_reason}))}</p>` : ""}
      ${payable ? `<p class="payable-line">${esc(t("claim.payable_here", {amount: money(s.payable, e.total.currency)}))}</p>` : ""}
      ${editable ? editTools(e) : ""}
    </div></article>`;
}

function editTools(e) {
  const id = esc(e.expense_id);
  const priced = e.kind === "mileage" || e.kind === "per_diem";
  const field = (name, label, value, extra = "") => `<label for="${name}-${id}">${esc(label)}</label>
    <input id="${name}-${id}" name="${name}" value="${esc(value ?? "")}" autocomplete="off" ${extra}>`;
  const cats = CATEGORIES.map(c => `<option value="${c}"${c === e.category ? " selected" : ""}>${esc(categoryText(c))}</option>`).join("");
  return `<div class="card-actions">
    <button type="button" class="edit-toggle" aria-expanded="false" aria-controls="edit-${id}">${esc(t("claim.edit"))}</button>
    <button type="button" class="remove-expense quiet-warning">${esc(t("claim.remove"))}</button></div>
    <form class="stack edit-expense" id="edit-${id}" hidden>
      ${priced ? `<p class="hint">${esc(t("claim.edit.priced_note"))}</p>` : `
      ${field("vendor", t("claim.field.vendor"), e.vendor)}
      ${field("receipt_date", t("claim.field.date"), e.receipt_date, 'type="date"')}
      ${field("total", t("claim.field.amount"), e.total ? e.total.amount : "", 'inputmode="decimal"')}
      ${field("currency", t("claim.field.currency"), e.total ? e.total.currency : "HKD", 'maxlength="3" pattern="[A-Za-z]{3}"')}`}
      <label for="category-${id}">${esc(t("claim.field.category"))}</label><select id="category-${id}" name="category">${cats}</select>
      ${field("description", t("claim.field.description"), e.description)}
      <button type="submit" class="primary">${esc(t("claim.save"))}</button>
      <p class="error" role="alert"></p>
    </form>`;
}

function holderText(view, claim) {
  const h = view.holder, since = h.since ? when(h.since) : "";
  if (h.kind === "approver") {
    let text = t("claim.holder.approver", {who: personText(h.who), since});
    if (h.on_behalf_of) text += " " + t("claim.holder.on_behalf", {who: personText(h.on_behalf_of)});
    if (h.escalation_desk) text += " " + t("claim.holder.desk");
    return text;
  }
  if (h.kind === "claimant") {
    return claim.status === "returned" ? t("claim.holder.returned", {who: personText(h.who), since})
      : t("claim.holder.draft", {who: personText(h.who)});
  }
  if (h.kind === "system") {
    if (claim.status === "approved") return t("claim.holder.paying", {since});
    if (claim.status === "in_approval") return t("claim.holder.routing", {since});
    return t("claim.holder.checking", {since});
  }
  return t("claim.holder.done." + claim.status);
}

function eventText(e) {
  const by = personText(e.by);
  let text = t("claim.event." + e.kind, {who: by, level: e.level ?? ""});
  if (e.on_behalf_of) text += " " + t("claim.holder.on_behalf", {who: personText(e.on_behalf_of)});
  if (e.disallowed) text += " · " + t("claim.event.disallowed", {count: e.disallowed});
  if (e.to_fix && e.to_fix.length) text += " · " + t("claim.event.to_fix", {what: e.to_fix.join(t("claim.list_separator"))});
  return text;
}

function totalsTable(view) {
  const tot = view.totals;
  const line = (label, amount, id, extra = "") => `<p class="total-line${id === "payable" ? " payable" : ""}">
    <span>${esc(label)}</span> <strong id="${id}">${esc(amount)}</strong>${extra}</p>`;
  const foreign = tot.claimed.some(x => x.currency !== "HKD");
  let html = "";
  if (foreign) {
    const row = x => `<tr><th scope="row">${esc(x.currency)}</th><td class="num">${esc(money(x.amount, x.currency))}</td>
      <td class="num">${x.hkd === null ? esc(t("claim.totals.no_rate")) : esc(money(x.hkd, "HKD"))}</td></tr>`;
    html += `<table class="totals"><thead><tr><th scope="col">${esc(t("claim.totals.currency"))}</th>
      <th scope="col" class="num">${esc(t("claim.totals.claimed"))}</th><th scope="col" class="num">${esc(t("claim.totals.hkd"))}</th></tr></thead>
      <tbody>${tot.claimed.map(row).join("")}</tbody></table>`;
    if (tot.hkd_claimed !== null) html += line(t("claim.totals.total_hkd"), money(tot.hkd_claimed, "HKD"), "claimed");
  } else {
    html += line(t("claim.totals.claimed"), tot.claimed.map(x => money(x.amount, x.currency)).join(" + "), "claimed");
  }
  if (tot.cut) {
    const hkd = foreign && tot.hkd_payable !== null ? ` <span class="hint">(${esc(money(tot.hkd_payable, "HKD"))})</span>` : "";
    html += line(t("claim.totals.payable"), tot.payable.map(x => money(x.amount, x.currency)).join(" + "), "payable", hkd);
  }
  if (foreign) {
    const rates = Object.entries(tot.rates).map(([c, r]) => t("claim.totals.rate", {currency: c, rate: r}))
      .join(t("claim.list_separator"));
    html += `<p class="hint">${esc(tot.estimate ? t("claim.totals.estimate") : t("claim.totals.valued"))} ${esc(rates)}</p>`;
  }
  return html;
}

const claimTitle = claim => claim.title
  || (claim.expenses.length === 1 ? expenseLabel(claim.expenses[0]) : t("claim.untitled"));

function render(claim, view) {
  const s = claim.summary || {};
  const byId = Object.fromEntries((s.expenses || []).map(x => [x.expense_id, x]));
  const editable = Boolean(view.editable);
  const heading = claimTitle(claim);
  document.title = `${heading} · ${t("app.name")}`;
  $("claim-title").textContent = heading;
  $("claim-status").innerHTML = statusChip(claim.status) + (editable ? ` <span class="hint">${esc(t("claim.edit_mode"))}</span>` : "");
  $("claim-claimant").textContent = personText(view.claimant);
  $("claim-purpose").textContent = claim.purpose || "";
  $("purpose-row").hidden = !claim.purpose;
  const period = [claim.period_start, claim.period_end].filter(Boolean).map(day).join(" – ");
  $("claim-period").textContent = period;
  $("period-row").hidden = !period;
  $("claim-head").hidden = false;

  const returned = claim.status === "returned" && claim.return_reason;
  $("return-note").hidden = !returned;
  if (returned) {
    const ret = [...view.events].reverse().find(e => e.kind === "returned");
    $("return-note-text").textContent = ret
      ? t("claim.returned.by", {who: personText(ret.by), when: when(ret.at), comment: claim.return_reason})
      : claim.return_reason;
  }

  $("holder").textContent = holderText(view, claim);
  $("holder-section").hidden = false;
  $("totals").innerHTML = claim.expenses.length ? totalsTable(view) : `<p class="hint">${esc(t("claim.totals.none"))}</p>`;
  $("totals-section").hidden = false;

  $("expenses-h").textContent = t("claim.expenses.count", {count: claim.expenses.length});
  $("expenses").innerHTML = claim.expenses.length
    ? claim.expenses.map(e => expenseCard(e, byId[e.expense_id], editable)).join("")
    : `<p class="hint">${esc(t("claim.expenses.none"))}</p>`;
  for (const e of claim.expenses) {
    const box = pageEl.querySelector(`article[data-e="${CSS.escape(e.expense_id)}"] .receipt-box`);
    if (box && e.kind === "receipt" && e.s3_key) showReceipt(e, box);
  }
  $("expenses-section").hidden = false;
  $("edit-tools").hidden = !editable;
  if (editable) prepareForms(view);

  $("submit-section").hidden = !editable;
  $("submit-claim").textContent = claim.status === "returned" ? t("claim.resubmit") : t("claim.submit");
  $("submit-claim").disabled = !claim.expenses.length;

  $("timeline").innerHTML = view.events.map(e => `<li class="ev ev-${esc(e.kind)}"><span class="ev-when">${esc(when(e.at))}</span>
    <span class="ev-what">${esc(eventText(e))}</span>${e.comment ? `<q class="ev-comment">${esc(e.comment)}</q>` : ""}</li>`).join("");
  $("timeline-section").hidden = false;
}

let formsReady = false;
function prepareForms(view) {
  const allowances = view.allowances || {vehicles: [], destinations: []};
  $("m-vehicle").innerHTML = allowances.vehicles.map(v => `<option value="${esc(v)}">${esc(vehicleText(v))}</option>`).join("");
  $("p-dest").innerHTML = allowances.destinations.map(d => `<option value="${esc(d)}">${esc(destinationText(d))}</option>`).join("");
  if (formsReady) return;
  formsReady = true;
  $("l-category").innerHTML = CATEGORIES.map(c => `<option value="${c}">${esc(categoryText(c))}</option>`).join("");
  const today = new Date().toISOString().slice(0, 10);
  for (const id of ["m-date", "p-date", "l-date"]) $(id).value = today;
}

async function load() {
  const [claim, view] = await Promise.all([api("GET", claimPath), api("GET", claimPath + "/timeline")]);
  $("loading").hidden = true;
  if (claim.status !== 200 || view.status !== 200) {
    $("claim-error").textContent = claim.status === 404 || view.status === 404 ? t("claim.not_found")
      : errorText(claim.status !== 200 ? claim : view);
    return;
  }
  current = {claim: claim.body, view: view.body};
  render(claim.body, view.body);
  showAudit();
}

// Whether the claim's audit trail verifies up to its last signed seal, or which record breaks it.
function auditText(v) {
  if (v.status === "broken") {
    return t("audit.broken", {reason: t("audit.break." + v.problem.kind, {seq: v.problem.seq})});
  }
  if (v.status === "empty") return t("audit.empty");
  if (v.status === "not_sealed") return t("audit.not_sealed", {count: v.records});
  const text = t("audit.verified", {time: when(v.sealed_at), sealed: v.sealed_seq});
  return v.unsealed ? `${text} ${t("audit.unsealed", {count: v.unsealed})}` : text;
}

async function showAudit() {
  const r = await api("GET", claimPath + "/audit");
  if (r.status !== 200) return;  // the trail is for those who may read the claim; nothing to say otherwise
  const v = r.body.verification;
  $("audit-status").textContent = auditText(v);
  $("audit-status").className = `audit-status audit-${v.status}`;
  $("audit-section").hidden = false;
}

// ---- edit mode ---------------------------------------------------------------------------------------------

function say(text) {
  $("result").textContent = text;
}

function formError(form, answer) {
  const out = form.querySelector(".error");
  if (out) out.textContent = errorText(answer);
}

$("expenses").addEventListener("click", async ev => {
  const card = ev.target.closest("article[data-e]");
  if (!card) return;
  const expenseId = card.dataset.e;
  const label = card.querySelector("h3").textContent.trim();
  if (ev.target.closest(".edit-toggle")) {
    const button = ev.target.closest(".edit-toggle");
    const form = card.querySelector("form.edit-expense");
    form.hidden = !form.hidden;
    button.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) form.querySelector("input, select").focus();
  } else if (ev.target.closest(".remove-expense")) {
    if (!await confirmDialog(t("claim.remove.title"), t("claim.remove.confirm", {what: label}), t("claim.remove"),
      {danger: true})) return;
    const r = await api("DELETE", `${claimPath}/expenses/${encodeURIComponent(expenseId)}`);
    if (r.status !== 200) { say(errorText(r)); return; }
    say(t("claim.removed", {what: label}));
    await load();
  }
});

$("expenses").addEventListener("submit", async ev => {
  const form = ev.target.closest("form.edit-expense");
  if (!form) return;
  ev.preventDefault();
  const card = form.closest("article[data-e]");
  const expense = current.claim.expenses.find(x => x.expense_id === card.dataset.e);
  const edits = {};
  for (const name of ["vendor", "receipt_date", "total", "currency", "category", "description"]) {
    const input = form.elements[name];
    if (!input) continue;
    const value = input.value.trim();
    const before = name === "total" ? expense.total?.amount : name === "currency" ? expense.total?.currency : expense[name];
    if (value !== String(before ?? "") && !(value === "" && before == null)) {
      edits[name] = name === "currency" ? value.toUpperCase() : value;
    }
  }
  if (!Object.keys(edits).length) { form.hidden = true; return; }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const r = await api("PATCH", `expenses/${encodeURIComponent(card.dataset.e)}`, edits);
  button.disabled = false;
  if (r.status !== 200) { formError(form, r); return; }
  say(t("claim.saved", {what: expenseLabel(r.body)}));
  await load();
});

$("picker-box").addEventListener("toggle", async () => {
  if (!$("picker-box").open) return;
  const list = $("picker-list");
  list.innerHTML = `<p class="hint">${esc(t("claim.loading"))}</p>`;
  const r = await api("GET", "expenses");
  if (r.status !== 200) { list.innerHTML = `<p class="error">${esc(errorText(r))}</p>`; return; }
  const found = r.body.expenses || [];
  list.innerHTML = found.length ? found.map((e, i) => `<div class="pick"><input type="checkbox" id="pick-${i}" value="${esc(e.expense_id)}">
    <label for="pick-${i}">${esc(expenseLabel(e))}${e.receipt_date ? " · " + esc(day(e.receipt_date)) : ""}${
      e.total ? " · " + esc(amountOf(e.total)) : ""} ${statusChip(e.status)}</label></div>`).join("")
    : `<p class="hint">${esc(t("claim.add.no_receipts"))}</p>`;
});

$("picker").addEventListener("submit", async ev => {
  ev.preventDefault();
  const ids = [...$("picker-list").querySelectorAll("input:checked")].map(x => x.value);
  if (!ids.length) { $("picker").querySelector(".error").textContent = t("claim.add.pick_one"); return; }
  const r = await api("POST", `${claimPath}/expenses`, {expense_ids: ids});
  if (r.status !== 201) { formError($("picker"), r); return; }
  $("picker-box").open = false;
  say(t("claim.added_receipts", {count: ids.length}));
  await load();
});

for (const form of document.querySelectorAll("form.line-form")) {
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const f = form.elements, kind = form.dataset.kind;
    const line = kind === "mileage"
      ? {kind, vehicle: f.vehicle.value, distance_km: f.distance_km.value.trim(), date: f.date.value,
        description: f.description.value.trim()}
      : kind === "per_diem"
        ? {kind, destination: f.destination.value, days: f.days.value.trim(), date: f.date.value,
          meals_provided: Object.fromEntries(MEALS.map(m => [m, Number(f[m].value || 0)]).filter(([, n]) => n > 0))}
        : {kind, vendor: f.vendor.value.trim(), date: f.date.value, amount: f.amount.value.trim(),
          currency: f.currency.value.trim().toUpperCase(), category: f.category.value, reason: f.reason.value.trim()};
    form.querySelector(".error").textContent = "";
    const r = await api("POST", `${claimPath}/expenses`, {line});
    if (r.status !== 201) { formError(form, r); return; }
    form.reset();
    prepareForms(current.view);
    for (const id of ["m-date", "p-date", "l-date"]) $(id).value = new Date().toISOString().slice(0, 10);
    form.closest("details").open = false;
    say(t("claim.added_line", {what: kindText(kind)}));
    await load();
  });
}

// A confirmation in a modal dialog (keyboard: focus on the action, Escape cancels); resolves true or false.
// `danger`: a destructive action, shown as a warning button (never looks like the primary one).
function confirmDialog(title, text, action, {danger = false} = {}) {
  const dialog = $("confirm");
  $("confirm-h").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = action;
  $("confirm-yes").className = danger ? "warning" : "primary";
  return new Promise(resolve => {
    const done = answer => () => { dialog.close(); resolve(answer); };
    const yes = done(true), no = done(false);
    $("confirm-yes").addEventListener("click", yes, {once: true});
    $("confirm-no").addEventListener("click", no, {once: true});
    dialog.addEventListener("cancel", () => resolve(false), {once: true});
    dialog.addEventListener("close", () => {
      $("confirm-yes").removeEventListener("click", yes);
      $("confirm-no").removeEventListener("click", no);
    }, {once: true});
    dialog.showModal();
    $("confirm-yes").focus();
  });
}

$("submit-claim").addEventListener("click", async () => {
  const claim = current.claim;
  const again = claim.status === "returned";
  const title = claimTitle(claim);
  const ok = await confirmDialog(again ? t("claim.resubmit.title") : t("claim.submit.title"),
    t(again ? "claim.resubmit.confirm" : "claim.submit.confirm", {title}),
    again ? t("claim.resubmit") : t("claim.submit"));
  if (!ok) return;
  const button = $("submit-claim");
  button.disabled = true;
  say(t("claim.submitting"));
  const r = await api("POST", `${claimPath}/submit`, {});
  if (r.status !== 200) {
    button.disabled = false;
    say(errorText(r));
    return;
  }
  await load();
  say(t(again ? "claim.resubmitted" : "claim.submitted", {title, status: statusText(r.body.status)})
    + " " + holderText(current.view, current.claim));
});

load();
