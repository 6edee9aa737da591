// The approval page (templates/approval.html): "Payable now" follows what is disallowed; approve at once; return
// and reject ask for a reason and a confirmation in a dialog; receipts zoom in a dialog; the outcome is a sentence
// in the reader's language. Large or high-risk claims are decided in the approver's own session (step-up).
import {$, t, money, api, session, signIn, errorText} from "./core.js";

const data = JSON.parse($("approval-data").textContent);
const decisionButtons = [...document.querySelectorAll("button[data-d]")];
const token = location.pathname.split("/").filter(Boolean).pop();

// A decimal string ("1234.5") as whole cents, and back: amounts are added as integers, never as floats.
export function cents(text) {
  const m = /^(-?)(\d+)(?:\.(\d{0,2}))?\d*$/.exec(String(text ?? "0").trim());
  if (!m) return 0;
  const value = Number(m[2]) * 100 + Number((m[3] || "").padEnd(2, "0"));
  return m[1] ? -value : value;
}
export const decimal = c =>
  `${c < 0 ? "-" : ""}${Math.trunc(Math.abs(c) / 100)}.${String(Math.abs(c) % 100).padStart(2, "0")}`;

// Per currency: each expense's total, nothing for one disallowed, less its disallowed lines (views.summary's rule).
function payableNow() {
  const by = {};
  for (const article of document.querySelectorAll("article.expense")) {
    const currency = article.dataset.currency;
    if (!currency) continue;
    const whole = article.dataset.cut || article.querySelector("input.disallow-expense:checked");
    let pay = whole ? 0 : cents(article.dataset.total);
    if (!whole) {
      for (const line of article.querySelectorAll("li.line")) {
        if (line.classList.contains("disallowed") || line.querySelector("input.disallow:checked")) {
          pay -= cents(line.dataset.amount);
        }
      }
    }
    by[currency] = (by[currency] || 0) + pay;
  }
  return by;
}

function showPayable() {
  const by = payableNow();
  const currencies = Object.keys(by).sort();
  if (currencies.length) $("payable").textContent = currencies.map(c => money(decimal(by[c]), c)).join(" + ");
}

const reasonBox = box => box.closest("li, div.cut").querySelector("label.why");

for (const box of document.querySelectorAll("input.disallow, input.disallow-expense")) {
  box.addEventListener("change", () => {
    reasonBox(box).hidden = !box.checked;
    const article = box.closest("article.expense");
    if (box.classList.contains("disallow-expense")) {  // a whole expense cut: its lines go with it
      article.classList.toggle("cut", box.checked);
      for (const line of article.querySelectorAll("input.disallow")) line.disabled = box.checked;
    }
    if (box.checked) reasonBox(box).querySelector("input").focus();
    showPayable();
  });
}

// What the approver disallows, each with its reason; null (and the first empty reason focused) if one is missing.
function disallowed() {
  const wholes = [...document.querySelectorAll("input.disallow-expense:checked")];
  const cut = new Set(wholes.map(x => x.dataset.expense));
  const lines = [...document.querySelectorAll("input.disallow:checked")].filter(x => !cut.has(x.dataset.expense));
  const out = [];
  for (const box of [...wholes, ...lines]) {
    const input = reasonBox(box).querySelector("input");
    input.removeAttribute("aria-invalid");
    const reason = input.value.trim();
    if (!reason) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return null;
    }
    out.push(box.classList.contains("disallow-expense")
      ? {expense_id: box.dataset.expense, reason}
      : {expense_id: box.dataset.expense, line: Number(box.dataset.line), reason});
  }
  return out;
}

// ---- the outcome, as a sentence --------------------------------------------------------------------------

const REFUSALS = [["already been used", "approval.refused.used"], ["expired", "approval.refused.expired"],
  ["replaced", "approval.refused.replaced"], ["changed after", "approval.refused.changed"],
  ["no longer waiting", "approval.refused.decided"], ["not genuine", "approval.refused.not_genuine"]];

function failure(answer) {
  const said = JSON.stringify(answer.body && answer.body.error || "");
  if (answer.status === 410) return t((REFUSALS.find(([part]) => said.includes(part)) || [0, "approval.refused.other"])[1]);
  if (answer.status === 401) return t("approval.error.sign_in");
  if (answer.status === 403) return t("approval.error.not_yours");
  if (answer.status === 409) return t("approval.error.changed");
  if (answer.status === 400) {
    if (said.includes("leaves nothing")) return t("approval.error.nothing_left");
    if (said.includes("needs a comment")) return t("approval.error.reason_needed");
    return t("approval.error.not_accepted");
  }
  return errorText(answer);
}

function sentence(outcome) {
  const title = outcome.title || data.title;
  const name = (outcome.claimant && outcome.claimant.name) || data.claimant;
  if (outcome.decision === "approved") {
    const amount = Object.entries(outcome.payable || {}).map(([c, a]) => money(a, c)).join(" + ");
    return outcome.next && outcome.next.name
      ? t("approval.done.approved_next", {title, amount, name: outcome.next.name})
      : t("approval.done.approved_final", {title, amount});
  }
  return t(outcome.decision === "rejected" ? "approval.done.rejected" : "approval.done.returned", {title, name});
}

function say(text, isError) {
  const out = isError ? $("form-error") : $("out");
  $("form-error").textContent = "";
  out.textContent = text;
}

async function decide(decision, comment, extra = {}) {
  if (data.sign_in_required && !session.token()) {
    say(t("approval.error.sign_in"), true);
    signIn();
    return;
  }
  decisionButtons.forEach(b => { b.disabled = true; });
  const answer = await api("POST", `approvals/${token}/decision`, {decision, comment, ...extra},
    {signInOn401: false});
  if (answer.status === 200) {
    say(sentence(answer.body));
    for (const input of document.querySelectorAll("input.disallow, input.disallow-expense, #comment")) {
      input.disabled = true;
    }
    $("out").focus();
    return;
  }
  say(failure(answer), true);
  if (answer.status === 401) {
    signIn();
    return;
  }
  if (answer.status !== 410) decisionButtons.forEach(b => { b.disabled = false; });
}

// ---- approve at once; return and reject after a reason and a confirmation ----------------------------------

const dialog = $("confirm");
let asking = null;

function ask(decision) {
  asking = decision;
  $("confirm-h").textContent = t(`approval.${decision}.confirm_title`, {title: data.title});
  $("confirm-text").textContent = t(`approval.${decision}.confirm_text`, {name: data.claimant});
  $("reason-label").textContent = t(`approval.${decision}.reason_label`);
  $("reason").value = $("comment").value;
  $("reason").removeAttribute("aria-invalid");
  $("reason-error").hidden = true;
  $("fix").hidden = decision !== "return";
  const go = $("confirm-go");
  go.textContent = t(`approval.${decision}.confirm_go`);
  go.className = decision === "reject" ? "warning" : "confirm";
  dialog.showModal();
  $("reason").focus();
}

$("confirm-form").addEventListener("submit", event => {
  event.preventDefault();
  const reason = $("reason").value.trim();
  if (!reason) {  // the server refuses it too; say so here before anything is sent
    $("reason-error").textContent = t("approval.error.reason_needed");
    $("reason-error").hidden = false;
    $("reason").setAttribute("aria-invalid", "true");
    $("reason").focus();
    return;
  }
  const fix = asking === "return"
    ? [...document.querySelectorAll("#fix input:checked")].map(x => x.value) : [];
  dialog.close();
  $("comment").value = reason;
  decide(asking, reason, fix.length ? {fix_expenses: fix} : {});
});
$("confirm-cancel").addEventListener("click", () => dialog.close());

for (const button of decisionButtons) {
  button.addEventListener("click", () => {
    $("form-error").textContent = "";
    if (button.dataset.d !== "approve") {
      ask(button.dataset.d);
      return;
    }
    const disallow = disallowed();
    if (disallow === null) {
      say(t("approval.error.disallow_reason"), true);
      return;
    }
    decide("approve", $("comment").value.trim(), disallow.length ? {disallow} : {});
  });
}

// ---- receipts: tap for full size, Escape or Close to return ------------------------------------------------

const zoom = $("zoom");
let zoomedFrom = null;
for (const button of document.querySelectorAll("button.zoom")) {
  button.addEventListener("click", () => {
    zoomedFrom = button;
    $("zoom-img").src = button.dataset.full;
    zoom.showModal();
    $("zoom-close").focus();
  });
}
$("zoom-close").addEventListener("click", () => zoom.close());
zoom.addEventListener("click", event => { if (event.target === zoom) zoom.close(); });
zoom.addEventListener("close", () => zoomedFrom && zoomedFrom.focus());

// ---- step-up: a large or high-risk claim is decided signed in ----------------------------------------------

if (data.sign_in_required && !session.token()) {
  const button = $("sign-in");
  button.hidden = false;
  button.addEventListener("click", () => signIn());
}
$("out").tabIndex = -1;
showPayable();
