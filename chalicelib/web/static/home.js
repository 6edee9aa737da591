// The employee's home page (templates/home.html): receipts photographed or picked several at once, each uploaded
// with its own progress to the presigned POST form `POST /uploads` answers, read by extraction (polled), then
// checked on a card — the receipt beside what was read, doubtful fields marked with the reason — and submitted on
// its own, put in a claim or kept. Below: the unattached receipts and the claims, each claim linking to its page.
import {root, locale, $, esc, t, statusChip, categoryText, money, day, when, session, signIn, api, errorText, me}
  from "./core.js";

// A claimant notification of the old page linked `#claim=ID`: the claim has its own page now.
const linked = new URLSearchParams(location.hash.slice(1)).get("claim");
if (linked) location.replace(`${root}claim/${encodeURIComponent(linked)}`);

const CATEGORIES = ["meals", "entertainment", "taxi", "travel", "general"];
const ACCEPTED = new Set(["image/jpeg", "image/png", "image/heic", "application/pdf"]);  // services/uploads.py
const READ = new Set(["extracted", "needs_review", "failed", "entered"]);
const EDITABLE = new Set(["draft", "returned"]);
// Below these, what extraction read is marked doubtful (extraction/resolve.py says so in words for some of them).
const SURE = {vendor: 0.6, receipt_date: 0.75, total: 0.8, currency: 0.6};
const MAX_BYTES = Number($("home-data").dataset.maxBytes) || 15 * 1048576;
const intlLocale = locale === "en" ? "en-HK" : "zh-Hant-HK";
const POLL_FIRST_MS = 700, POLL_MAX_MS = 3000, READING_LIMIT_MS = 240_000;

let who = null;
let drafts = [];  // my draft and returned claims: where a receipt can be added
const reviewing = new Set();  // expenses on a card in the upload area (not listed again under unattached)
let uploadSeq = 0;

const announce = text => { $("announce").textContent = text; };
const megabytes = bytes => bytes < 1048576 ?
  new Intl.NumberFormat(intlLocale, {style: "unit", unit: "kilobyte", maximumFractionDigits: 0})
    .format(Math.max(1, Math.round(bytes / 1024))) :
  new Intl.NumberFormat(intlLocale, {style: "unit", unit: "megabyte", maximumFractionDigits: 1})
    .format(bytes / 1048576);
const claimLink = c => `${root}claim/${encodeURIComponent(c.claim_id)}`;
const path = (...parts) => parts.map(encodeURIComponent).join("/");

// ---- receipt images: the API answers a short-lived link to the version that was read --------------------------
const urls = new Map();
function receiptUrl(expenseId) {
  if (!urls.has(expenseId)) {
    urls.set(expenseId, fetch(`${root}expenses/${encodeURIComponent(expenseId)}/receipt`, {
      headers: {Accept: "application/json", Authorization: "Bearer " + session.token()},
    }).then(r => r.ok ? r.json() : null).then(b => b && b.url).catch(() => null));
    setTimeout(() => urls.delete(expenseId), 240_000);  // links are short-lived: ask again after a while
  }
  return urls.get(expenseId);
}
async function showReceipt(img, expense, link) {
  if (!expense.s3_key) return;
  const url = await receiptUrl(expense.expense_id);
  if (!url) return;
  const email = (expense.content_type || "").startsWith("text/html");  // an e-mailed receipt: a download only
  if (link) {
    link.href = url; link.hidden = false;
    if (email) { link.textContent = t("home.review.email"); link.setAttribute("download", ""); link.removeAttribute("target"); }
  }
  if (expense.content_type === "application/pdf" || email) return;  // a PDF or an e-mail has no picture
  img.addEventListener("error", () => { img.hidden = true; });
  img.addEventListener("load", () => { img.hidden = false; });
  img.src = url;
}

// ---- capture and upload -------------------------------------------------------------------------------------
function fileType(file) {
  const type = (file.type || "").toLowerCase();
  const name = file.name.toLowerCase();
  if (type === "image/jpg" || type === "image/pjpeg") return "image/jpeg";
  if (type === "image/heif" || (!type && /\.hei[cf]$/.test(name))) return "image/heic";
  if (!type && name.endsWith(".pdf")) return "application/pdf";
  return type;
}

function addFiles(input) {
  const files = [...input.files];
  input.value = "";  // the same photo can be picked again
  if (!files.length) return;
  announce(t(files.length === 1 ? "home.upload.started_one" : "home.upload.started_many", {n: files.length}));
  for (const file of files) {
    const item = {file, type: fileType(file), li: document.createElement("li"), id: ++uploadSeq};
    item.preview = item.type.startsWith("image/") && item.type !== "image/heic" ? URL.createObjectURL(file) : null;
    item.li.className = "home-upload";
    item.li.innerHTML = `<div class="home-thumb">${item.preview ?
      `<img src="${esc(item.preview)}" alt="${esc(t("home.upload.preview", {name: file.name}))}">` :
      `<span class="home-doc" aria-hidden="true">${item.type === "application/pdf" ? "PDF" : "?"}</span>`}</div>
      <div class="home-upload-body"><p class="home-file-name">${esc(file.name)}
      <span class="hint">${esc(megabytes(file.size))}</span></p>
      <progress max="100" value="0" aria-label="${esc(t("home.upload.progress_of", {name: file.name}))}"></progress>
      <p class="home-state"></p><div class="home-upload-actions"></div></div>`;
    $("uploads").append(item.li);
    upload(item);
  }
}

function uploadState(item, text, kind = "") {
  const p = item.li.querySelector(".home-state");
  p.textContent = text;
  p.className = "home-state" + (kind ? " " + kind : "");
}

// A file that cannot go (too large, wrong type) or did not (network, refused): its own words, the others go on;
// a retry asks for a new upload form, so nothing of the failed try is reused.
function uploadFailed(item, text, retry) {
  item.li.classList.add("home-upload-failed");
  item.li.querySelector("progress").hidden = true;
  uploadState(item, text, "error");
  announce(t("home.upload.failed_announce", {name: item.file.name, reason: text}));
  const actions = item.li.querySelector(".home-upload-actions");
  actions.innerHTML = (retry ? `<button type="button" class="home-retry">${esc(t("home.upload.retry"))}</button>` :
    "") + `<button type="button" class="quiet home-dismiss">${esc(t("home.upload.dismiss"))}</button>`;
  actions.querySelector(".home-retry")?.addEventListener("click", () => upload(item));
  actions.querySelector(".home-dismiss").addEventListener("click", () => dropUpload(item));
}
function dropUpload(item) {
  if (item.preview) URL.revokeObjectURL(item.preview);
  item.li.remove();
}

function send(target, file, onProgress) {
  return new Promise(resolve => {
    const form = new FormData();  // the presigned POST: its policy fields first, the file last
    for (const [name, value] of Object.entries(target.fields)) form.append(name, value);
    form.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open(target.method || "POST", target.url);
    xhr.upload.addEventListener("progress", e => {
      if (e.lengthComputable) onProgress(Math.min(100, Math.round(e.loaded * 100 / e.total)));
    });
    xhr.addEventListener("load", () => resolve(xhr.status >= 200 && xhr.status < 300 ? "ok" : "refused"));
    xhr.addEventListener("error", () => resolve("network"));
    xhr.addEventListener("timeout", () => resolve("network"));
    xhr.addEventListener("abort", () => resolve("network"));
    xhr.send(form);
  });
}

async function upload(item) {
  const {file, li} = item;
  const bar = li.querySelector("progress");
  li.classList.remove("home-upload-failed");
  li.querySelector(".home-upload-actions").innerHTML = "";
  bar.value = 0;
  bar.hidden = false;
  if (!ACCEPTED.has(item.type)) return uploadFailed(item, t("home.upload.wrong_type"), false);
  if (file.size === 0) return uploadFailed(item, t("home.upload.empty"), false);
  if (file.size > MAX_BYTES) {
    return uploadFailed(item, t("home.upload.too_large", {size: megabytes(file.size), limit: megabytes(MAX_BYTES)}),
      false);
  }
  uploadState(item, t("home.upload.preparing"));
  const into = $("into").value;
  const asked = await api("POST", "uploads", {filename: file.name, content_type: item.type, size_bytes: file.size,
    ...(into ? {claim_id: into} : {})});
  if (asked.status !== 201) return uploadFailed(item, errorText(asked), asked.status === 0 || asked.status >= 500);
  item.expenseId = asked.body.expense_id;
  let said = 0;
  const sent = await send(asked.body.upload, file, percent => {
    bar.value = percent;
    uploadState(item, t("home.upload.sending", {percent}));
    if (percent - said >= 50 && percent < 100) {  // the live region hears a few steps, not every byte
      said = percent;
      announce(t("home.upload.sending_named", {name: file.name, percent}));
    }
  });
  if (sent !== "ok") {
    return uploadFailed(item, t(sent === "network" ? "home.upload.network" : "home.upload.refused"), true);
  }
  bar.value = 100;
  uploadState(item, t("home.upload.reading"));
  announce(t("home.upload.sent", {name: file.name}));
  let expense = await waitForReading(item);
  for (let i = 0; expense && into && !expense.claim_id && i < 4; i++) {  // joining the claim follows the reading
    await new Promise(r => setTimeout(r, 800));
    const again = await api("GET", path("expenses", item.expenseId));
    if (again.status === 200) expense = again.body;
  }
  if (!expense) return;
  if (into && expense.claim_id) {  // it went straight into that claim: its page shows it
    const claim = drafts.find(c => c.claim_id === expense.claim_id);
    done(item.li, t("home.done.added", {title: claim ? claim.summary.title : ""}),
      claim || {claim_id: expense.claim_id, status: expense.claim_status});
    return;
  }
  if (item.preview) URL.revokeObjectURL(item.preview);
  openReview(expense, item.li);
}

async function waitForReading(item) {
  const started = Date.now();
  let pause = POLL_FIRST_MS;
  while (Date.now() - started < READING_LIMIT_MS) {
    await new Promise(r => setTimeout(r, pause));
    pause = Math.min(POLL_MAX_MS, pause * 1.4);
    const r = await api("GET", path("expenses", item.expenseId));
    if (r.status === 200 && READ.has(r.body.status)) return r.body;
    if (r.status !== 200 && r.status !== 404 && r.status !== 0) {
      uploadFailed(item, errorText(r), false);
      return null;
    }
  }
  uploadState(item, t("home.upload.slow"));  // it will still be read: it then waits under unattached receipts
  announce(t("home.upload.slow_named", {name: item.file.name}));
  load();
  return null;
}

// ---- what was read: the doubtful fields and why ------------------------------------------------------------------
// Extraction explains itself in English sentences (extraction/resolve.py, services/extraction.py): the known ones
// are said in the reader's language with their figures formatted; any other is shown as written.
const REASONS = [
  [/^no text could be read/, null, () => t("home.reason.no_text")],
  [/^no total found/, "total", () => t("home.reason.no_total")],
  [/^no date found/, "receipt_date", () => t("home.reason.no_date")],
  [/^date (\d{4}-\d\d-\d\d) is in the future/, "receipt_date", m => t("home.reason.future_date", {date: day(m[1])})],
  [/^total confidence/, "total", () => t("home.reason.unsure_total")],
  [/^date confidence/, "receipt_date", () => t("home.reason.unsure_date")],
  [/^currency confidence/, "currency", () => t("home.reason.unsure_currency")],
  [/^several different totals printed \(([\d.]+) and ([\d.]+)\)/, "total",
    (m, cur) => t("home.reason.several_totals", {a: money(m[1], cur), b: money(m[2], cur)})],
  [/^subtotal ([\d.]+) is more than the total ([\d.]+)/, "total",
    (m, cur) => t("home.reason.subtotal_over", {subtotal: money(m[1], cur), total: money(m[2], cur)})],
  [/^line items add up to ([\d.]+), not the total ([\d.]+)/, "total",
    (m, cur) => t("home.reason.lines_differ", {lines: money(m[1], cur), total: money(m[2], cur)})],
  [/^the (total|tax) read \(.*\) is above/, "total", () => t("home.reason.too_large")],
  [/^a line item read is above/, null, () => t("home.reason.line_too_large")],
  [/^the currency read \((.*)\) is not an ISO 4217 code/, "currency",
    m => t("home.reason.unknown_currency", {code: m[1]})],
];
function reason(text, currency) {
  for (const [pattern, field, say] of REASONS) {
    const m = pattern.exec(text);
    if (m) return {field, text: say(m, currency)};
  }
  return {field: null, text};
}

// {field: [why, ...]} for the fields to check, and the reasons that name no field.
function doubts(e) {
  const currency = e.total ? e.total.currency : "HKD";
  const byField = {}, general = [];
  const add = (field, text) => { (byField[field] ??= []).includes(text) || byField[field].push(text); };
  for (const r of (e.review_reasons || []).map(x => reason(x, currency))) {
    if (r.field) add(r.field, r.text); else general.push(r.text);
  }
  if (e.kind === "receipt" && e.status !== "failed") {
    const conf = e.confidence || {};
    const confOf = {vendor: conf.vendor, receipt_date: conf.date, total: conf.total, currency: conf.currency};
    for (const [field, floor] of Object.entries(SURE)) {
      if (typeof confOf[field] === "number" && confOf[field] < floor && !byField[field]) {
        add(field, t("home.reason.unsure"));
      }
    }
    if (!e.vendor && !byField.vendor) add("vendor", t("home.reason.no_vendor"));
    if (!e.total && !byField.total) add("total", t("home.reason.no_total"));
    if (!e.receipt_date && !byField.receipt_date) add("receipt_date", t("home.reason.no_date"));
  }
  return {byField, general};
}

// ---- the card to check a receipt ---------------------------------------------------------------------------------
function field(e, name, label, input, why) {
  const id = `${name}-${e.expense_id}`;
  const reasons = why[name];
  const described = reasons ? ` aria-describedby="why-${id}"` : "";
  return `<div class="home-field${reasons ? " home-doubt" : ""}"><label for="${id}">${esc(label)}</label>
    ${input(id, described)}
    ${reasons ? `<p class="home-why" id="why-${id}"><span class="home-why-mark">${esc(t("home.review.check"))}</span>
    ${esc(reasons.join(" "))}</p>` : ""}</div>`;
}

function draftOptions(selected) {
  return drafts.map(c => `<option value="${esc(c.claim_id)}"${c.claim_id === selected ? " selected" : ""}>` +
    `${esc(c.summary.title)} · ${esc(t("status." + c.status))}</option>`).join("") +
    `<option value="new"${selected === "new" || !drafts.length ? " selected" : ""}>${esc(t("home.review.new_claim"))}</option>`;
}

function openReview(e, li) {
  reviewing.add(e.expense_id);
  li.className = "home-upload home-review-card";
  li.dataset.expense = e.expense_id;
  const id = esc(e.expense_id);
  const title = e.vendor || t("home.loose.unnamed");
  if (e.status === "failed") {
    li.innerHTML = `<div class="home-review-head"><h3>${esc(title)}</h3> ${statusChip("failed")}</div>
      <p class="error">${esc(t("home.read.failed", {reason: e.failure_reason || t("error.generic")}))}</p>
      <p class="hint">${esc(t("home.read.failed_hint"))}</p>
      <button type="button" class="quiet home-dismiss">${esc(t("home.upload.dismiss"))}</button>`;
    li.querySelector(".home-dismiss").addEventListener("click", () => {
      reviewing.delete(e.expense_id);
      li.remove();
      load();
    });
    announce(t("home.read.failed_named", {name: title}));
    return;
  }
  const {byField, general} = doubts(e);
  const amount = e.total ? e.total.amount : "", currency = e.total ? e.total.currency : "HKD";
  const doubtful = Object.keys(byField).length + general.length;
  li.innerHTML = `
    <div class="home-review-head"><h3 id="title-${id}">${esc(title)}</h3> ${statusChip(e.status)}</div>
    <div class="home-review">
    <figure class="home-receipt"><img alt="${esc(t("home.review.receipt_of", {name: title}))}" hidden>
      <figcaption><a class="home-open" target="_blank" rel="noopener" hidden>${esc(t("home.review.open"))}</a></figcaption>
    </figure>
    <form class="home-review-form" novalidate aria-labelledby="title-${id}">
    ${doubtful ? `<p class="home-doubts-head">${esc(t("home.review.doubts", {n: doubtful}))}</p>` : ""}
    ${general.length ? `<ul class="home-doubts">${general.map(g => `<li>${esc(g)}</li>`).join("")}</ul>` : ""}
    ${(e.risk_reasons || []).length ? `<ul class="home-doubts">${e.risk_reasons.map(r => `<li>${esc(r)}</li>`)
      .join("")}</ul>` : ""}
    ${field(e, "vendor", t("home.review.vendor"), (fid, d) =>
      `<input id="${fid}" name="vendor" maxlength="200" value="${esc(e.vendor)}" autocomplete="off"${d}>`, byField)}
    ${field(e, "receipt_date", t("home.review.date"), (fid, d) =>
      `<input id="${fid}" name="receipt_date" type="date" value="${esc(e.receipt_date)}"${d}>`, byField)}
    <div class="home-money">
    ${field(e, "total", t("home.review.total"), (fid, d) =>
      `<input id="${fid}" name="total" inputmode="decimal" maxlength="20" value="${esc(amount)}" autocomplete="off"${d}>`,
      byField)}
    ${field(e, "currency", t("home.review.currency"), (fid, d) =>
      `<input id="${fid}" name="currency" maxlength="3" value="${esc(currency)}" autocapitalize="characters"
        autocomplete="off"${d}>`, byField)}
    </div>
    ${field(e, "category", t("home.review.category"), (fid) =>
      `<select id="${fid}" name="category" aria-describedby="cat-${id}">${CATEGORIES.map(c =>
        `<option value="${c}"${c === e.category ? " selected" : ""}>${esc(categoryText(c))}</option>`).join("")}
      </select><p class="hint" id="cat-${id}">${esc(t(e.category !== "general" ? "home.review.category_suggested" :
        "home.review.category_pick"))}</p>`, byField)}
    ${field(e, "description", t("home.review.purpose"), (fid) =>
      `<input id="${fid}" name="description" maxlength="500" value="${esc(e.description)}" autocomplete="off">`,
      byField)}
    <div class="home-review-actions">
      <button type="button" class="primary home-submit">${esc(t("home.review.submit"))}</button>
      <button type="button" class="quiet home-keep">${esc(t("home.review.keep"))}</button>
      <fieldset class="home-add"><legend>${esc(t("home.review.add_legend"))}</legend>
        <label for="to-${id}">${esc(t("home.review.add_to"))}</label>
        <select id="to-${id}" class="home-to" name="to">${draftOptions()}</select>
        <div class="home-new-title"><label for="nt-${id}">${esc(t("home.review.new_title"))}</label>
        <input id="nt-${id}" name="new_title" maxlength="200" autocomplete="off"></div>
        <button type="button" class="home-add-button">${esc(t("home.review.add"))}</button>
      </fieldset>
    </div>
    <p class="home-msg" role="status"></p>
    </form></div>`;
  const form = li.querySelector("form");
  showReceipt(li.querySelector(".home-receipt img"), e, li.querySelector(".home-open"));
  const to = form.elements.to;
  const newTitle = li.querySelector(".home-new-title");
  const pick = () => { newTitle.hidden = to.value !== "new"; };
  to.addEventListener("change", pick);
  pick();
  form.addEventListener("submit", ev => ev.preventDefault());
  li.querySelector(".home-submit").addEventListener("click", () => act(e, li, "submit"));
  li.querySelector(".home-add-button").addEventListener("click", () => act(e, li, "add"));
  li.querySelector(".home-keep").addEventListener("click", () => act(e, li, "keep"));
  announce(t(doubtful ? "home.read.check_named" : "home.read.read_named",
    {name: title, amount: e.total ? money(e.total.amount, e.total.currency) : t("home.loose.no_amount"), n: doubtful}));
}

function corrections(form) {
  const f = form.elements;
  const total = f.total.value.replace(/[\s,]/g, "");
  return {vendor: f.vendor.value.trim(), receipt_date: f.receipt_date.value || null, total: total || null,
    currency: f.currency.value.trim().toUpperCase() || null, category: f.category.value,
    description: f.description.value.trim()};
}

async function act(e, li, what) {
  const form = li.querySelector("form");
  const msg = li.querySelector(".home-msg");
  const buttons = [...li.querySelectorAll("button")];
  const say = (text, error = false) => { msg.textContent = text; msg.className = "home-msg" + (error ? " error" : ""); };
  const to = form.elements.to.value, title = form.elements.new_title.value.trim();
  if (what === "add" && to === "new" && !title) {
    say(t("home.review.new_title_needed"), true);
    form.elements.new_title.focus();
    return;
  }
  buttons.forEach(b => { b.disabled = true; });
  say(t("home.review.saving"));
  try {
    const fixed = corrections(form);
    if (what === "submit") {
      const r = await api("POST", path("expenses", e.expense_id) + "/submit", {...fixed, purpose: fixed.description});
      if (r.status !== 200 && r.status !== 201) return say(errorText(r), true);
      done(li, t("home.done.submitted", {title: r.body.summary.title}), r.body);
    } else {
      const patched = await api("PATCH", path("expenses", e.expense_id), fixed);
      if (patched.status !== 200) return say(errorText(patched), true);
      if (what === "keep") {
        reviewing.delete(e.expense_id);
        li.remove();
        announce(t("home.done.kept", {name: fixed.vendor || t("home.loose.unnamed")}));
      } else if (to === "new") {
        const r = await api("POST", "claims", {title, expense_ids: [e.expense_id]});
        if (r.status !== 201) return say(errorText(r), true);
        done(li, t("home.done.added_new", {title: r.body.summary.title}), r.body);
      } else {
        const r = await api("POST", path("claims", to, "expenses"), {expense_ids: [e.expense_id]});
        if (r.status !== 201) return say(errorText(r), true);
        done(li, t("home.done.added", {title: r.body.summary.title}), r.body);
      }
    }
    load();
  } finally {
    buttons.forEach(b => { b.disabled = false; });
  }
}

// The card gives way to one line: what happened and the claim's page.
function done(li, text, claim) {
  if (li.dataset.expense) reviewing.delete(li.dataset.expense);
  li.className = "home-upload home-done";
  li.innerHTML = `<p>${esc(text)} ${claim.status ? statusChip(claim.status) : ""}
    <a href="${esc(claimLink(claim))}">${esc(t("home.done.open_claim"))}</a></p>`;
  announce(text);
}

// ---- my unattached receipts and my claims -------------------------------------------------------------------------
function amountText(e) {
  return e.total ? money(e.total.amount, e.total.currency) : t("home.loose.no_amount");
}

function looseCard(e) {
  const name = e.vendor || e.description || t("home.loose.unnamed");
  return `<li class="home-card" data-expense="${esc(e.expense_id)}">
    <div class="home-thumb">${e.content_type === "application/pdf" ? `<span class="home-doc" aria-hidden="true">PDF</span>` :
      (e.content_type || "").startsWith("text/html") ? `<span class="home-doc" aria-hidden="true">✉</span>` :
      `<img alt="${esc(t("home.review.receipt_of", {name}))}" hidden>`}</div>
    <div class="home-card-body"><h3>${esc(name)}</h3>
    <p>${esc([day(e.receipt_date), amountText(e)].filter(Boolean).join(" · "))}</p>
    <p>${statusChip(e.status)}</p></div>
    <button type="button" class="home-check" aria-label="${esc(t("home.loose.check_named", {name}))}">
    ${esc(t(e.status === "uploaded" ? "home.loose.wait" : "home.loose.check"))}</button></li>`;
}

function period(c) {
  const s = c.summary || {};
  const [start, end] = s.period || [];
  if (start || end) return [day(start), day(end)].filter(Boolean).join(" – ");
  const dates = (s.expenses || []).map(x => x.date).filter(Boolean).sort();
  if (dates.length) return [...new Set([dates[0], dates[dates.length - 1]])].map(day).join(" – ");
  return t("home.claims.created", {when: when(c.created_at)});
}

function claimCard(c) {
  const s = c.summary || {};
  const totals = Object.entries(s.totals || {});
  const foreign = totals.some(([currency]) => currency !== "HKD");
  const count = (s.expenses || []).length;
  const returned = c.status === "returned";
  return `<li class="home-card home-claim${returned ? " home-returned" : ""}">
    <div class="home-card-body">
    <h3><a href="${esc(claimLink(c))}">${esc(s.title || t("home.claims.untitled"))}</a></h3>
    <p class="home-claim-meta">${esc(period(c))} · ${esc(t(count === 1 ? "home.claims.items_one" :
      "home.claims.items_many", {n: count}))}</p>
    ${totals.length ? `<ul class="home-amounts" aria-label="${esc(t("home.claims.amounts"))}">${totals.map(([cur, amt]) =>
      `<li>${esc(money(amt, cur))}</li>`).join("")}</ul>` : `<p class="hint">${esc(t("home.loose.no_amount"))}</p>`}
    ${foreign && s.hkd_total ? `<p class="hint">${esc(t("home.claims.hkd", {amount: money(s.hkd_total, "HKD")}))}</p>`
      : ""}
    <p>${statusChip(c.status)}</p>
    ${returned ? `<p class="home-fix"><strong>${esc(t("home.claims.fix"))}</strong>
      ${c.return_reason ? esc(c.return_reason) : ""}</p>` : ""}
    ${c.status === "rejected" && c.rejection_reason ?
      `<p class="hint">${esc(t("home.claims.rejected_why", {reason: c.rejection_reason}))}</p>` : ""}
    </div></li>`;
}

let loads = 0;
async function load() {
  const mine = ++loads;
  const [claims, loose] = await Promise.all([api("GET", "claims"), api("GET", "expenses")]);
  if (mine !== loads) return;  // a later load started meanwhile: it shows the newer state
  if (claims.status === 200) {
    const own = claims.body.claims.filter(c => !who || c.employee_id === who.employee_id);
    own.sort((a, b) => (b.status === "returned") - (a.status === "returned") ||
      String(b.updated_at).localeCompare(String(a.updated_at)));
    drafts = own.filter(c => EDITABLE.has(c.status));
    $("claims").innerHTML = own.map(claimCard).join("");
    $("claims-empty").textContent = own.length ? "" : t("home.claims.none");
    $("claims-empty").hidden = own.length > 0;
    refreshDraftPickers();
  } else {
    $("claims-empty").hidden = false;
    $("claims-empty").textContent = errorText(claims);
  }
  if (loose.status === 200) {
    const found = loose.body.expenses.filter(e => !reviewing.has(e.expense_id));
    $("loose").innerHTML = found.map(looseCard).join("");
    $("loose-empty").hidden = found.length > 0;
    $("loose-empty").textContent = found.length ? "" : t("home.loose.none");
    for (const e of found.slice(0, 30)) {
      const li = $("loose").querySelector(`li[data-expense="${CSS.escape(e.expense_id)}"]`);
      const img = li && li.querySelector("img");
      if (img && e.status !== "uploaded") showReceipt(img, e, null);
    }
  } else {
    $("loose-empty").hidden = false;
    $("loose-empty").textContent = errorText(loose);
  }
}

// Draft pickers follow the claims as they change, keeping what each one had chosen.
function refreshDraftPickers() {
  const into = $("into"), chosen = into.value;
  into.innerHTML = `<option value="">${esc(t("home.capture.into_none"))}</option>` + drafts.map(c =>
    `<option value="${esc(c.claim_id)}">${esc(c.summary.title)}</option>`).join("");
  into.value = drafts.some(c => c.claim_id === chosen) ? chosen : "";
  into.closest(".home-into").hidden = drafts.length === 0;  // nothing to choose from: no question asked
  for (const select of document.querySelectorAll("select.home-to")) {
    const was = select.value;
    select.innerHTML = draftOptions(drafts.some(c => c.claim_id === was) ? was : "new");
    select.dispatchEvent(new Event("change"));
  }
}

$("loose").addEventListener("click", async ev => {
  const button = ev.target.closest("button.home-check");
  if (!button) return;
  const li = button.closest("li");
  const r = await api("GET", path("expenses", li.dataset.expense));
  if (r.status !== 200) { announce(errorText(r)); return; }
  if (!READ.has(r.body.status)) { announce(t("home.upload.reading")); return; }
  const card = document.createElement("li");
  $("uploads").prepend(card);
  openReview(r.body, card);
  li.remove();
  if (!$("loose").children.length) { $("loose-empty").hidden = false; $("loose-empty").textContent = t("home.loose.none"); }
  card.querySelector("input")?.focus();
});

$("new-claim").addEventListener("submit", async ev => {
  ev.preventDefault();
  const f = ev.target, button = f.querySelector("button");
  button.disabled = true;
  const r = await api("POST", "claims", {title: f.elements.title.value.trim(), purpose: f.elements.purpose.value.trim()});
  button.disabled = false;
  if (r.status === 201) location.assign(claimLink(r.body));
  else $("new-claim-msg").textContent = errorText(r);
});

for (const input of [$("camera"), $("files")]) input.addEventListener("change", () => addFiles(input));

async function approvals() {
  if (!who.roles.includes("approver")) return;
  const r = await api("GET", "me/approvals");
  const n = r.status === 200 ? r.body.approvals.length : 0;
  if (!n) return;
  const notice = $("to-approve");
  notice.innerHTML = `${esc(t(n === 1 ? "home.approvals.one" : "home.approvals.many", {n}))}
    <a href="${esc(root)}inbox">${esc(t("home.approvals.go"))}</a>`;
  notice.hidden = false;
}

async function start() {
  if (linked) return;
  if (!session.token()) { signIn(); return; }
  who = await me();
  if (!who) return;  // core.js sends a stale sign-in to the sign-in page
  await load();
  approvals();
}
start();
