// The finance dashboard: filters -> GET finance/overview (KPI tiles, charts), finance/queues, finance/claims (the
// table, searchable and sortable, cards on a phone) and finance/export (CSV or XLSX of what the table shows).
// Charts are chart.js (static/vendor/chart.umd.js, a classic script loaded before this module); each has its
// figures as a sentence and a table beside it, for people who cannot see the chart.
import {$, api, categoryText, errorText, esc, locale, me, money, root, session, signIn, statusChip, t, when}
  from "./core.js";

const intlLocale = locale === "en" ? "en-HK" : "zh-Hant-HK";
const percent = new Intl.NumberFormat(intlLocale, {style: "percent", maximumFractionDigits: 1});
const PAGE_SIZE = 25;
const COLOURS = ["#1d70b8", "#00703c", "#d4351c", "#f47738", "#4c2c92", "#28a197", "#b58840", "#912b88",
                 "#85994b", "#505a5f", "#003078"];
const charts = {};
let page = 1;

const pct = share => share === null || share === undefined ? t("finance.kpi.none") : percent.format(Number(share));
const hkd = m => money(m.amount, m.currency);
function monthText(ym) {
  const [y, m] = ym.split("-").map(Number);
  return new Intl.DateTimeFormat(intlLocale, {year: "numeric", month: "short", timeZone: "UTC"})
    .format(new Date(Date.UTC(y, m - 1, 1)));
}
function ym(d) {
  const parts = new Intl.DateTimeFormat("en-CA", {year: "numeric", month: "2-digit", timeZone: "Asia/Hong_Kong"})
    .formatToParts(d);
  return `${parts.find(p => p.type === "year").value}-${parts.find(p => p.type === "month").value}`;
}

function filters() {
  const q = new URLSearchParams();
  q.set("from", $("fin-from").value);
  q.set("to", $("fin-to").value);
  if (!$("fin-dept-field").hidden) q.set("department", $("fin-dept").value);
  if ($("fin-status").value) q.set("status", $("fin-status").value);
  if ($("fin-category").value) q.set("category", $("fin-category").value);
  return q;
}
function listQuery() {
  const q = filters();
  const [sort, dir] = $("fin-sort").value.split(":");
  q.set("sort", sort);
  q.set("dir", dir);
  if ($("fin-search").value.trim()) q.set("search", $("fin-search").value.trim());
  return q;
}

function tile(id, big, detail, met) {
  const el = $(id);
  el.querySelector(".big").textContent = big;
  el.querySelector(".detail").textContent = detail;
  const verdict = el.querySelector(".verdict");
  if (verdict) {
    verdict.textContent = met === null ? "" : t(met ? "finance.kpi.met" : "finance.kpi.missed");
    verdict.className = "verdict " + (met === null ? "" : met ? "met" : "missed");
  }
}

// One chart and its text alternative (a sentence naming the largest items, and the full table).
function chart(id, type, labels, values, format, datasetLabel) {
  const figure = $("chart-" + id);
  const rows = labels.map((label, i) => `<tr><td>${esc(label)}</td><td class="num">${esc(format(values[i]))}</td></tr>`);
  figure.querySelector("tbody").innerHTML = rows.join("") ||
    `<tr><td colspan="2">${esc(t("finance.chart.empty"))}</td></tr>`;
  const ranked = labels.map((label, i) => [label, values[i]]).filter(x => x[1] > 0).sort((a, b) => b[1] - a[1]);
  figure.querySelector(".chart-summary").textContent = ranked.length
    ? ranked.slice(0, 3).map(([label, v]) => `${label}: ${format(v)}`).join(" · ")
    : t("finance.chart.empty");
  charts[id]?.destroy();
  if (typeof window.Chart !== "function") return;
  charts[id] = new window.Chart(figure.querySelector("canvas"), {
    type,
    data: {labels, datasets: [{label: datasetLabel, data: values,
      backgroundColor: type === "doughnut" ? labels.map((_, i) => COLOURS[i % COLOURS.length]) : COLOURS[0],
      borderColor: COLOURS[0]}]},
    options: {responsive: true, maintainAspectRatio: false, animation: false,
      plugins: {legend: {display: type === "doughnut", position: "bottom"},
                tooltip: {callbacks: {label: ctx => `${ctx.label}: ${format(ctx.parsed.y ?? ctx.parsed)}`}}},
      scales: type === "doughnut" ? {} : {y: {beginAtZero: true, ticks: {callback: v => format(v)}}}},
  });
}

function renderOverview(ov) {
  const d = ov.decisions;
  tile("kpi-approval", pct(d.share_within_target),
       t("finance.kpi.approval.detail", {within: d.within_target, decided: d.decided, target: `${d.target_hours} h`}),
       null);
  const a = ov.adoption;
  tile("kpi-adoption", pct(a.share),
       t("finance.kpi.adoption.detail", {adopters: a.adopters, headcount: a.headcount,
                                         first: pct(a.first_month_share), target: pct(a.target)}),
       a.met);
  tile("kpi-spend", hkd(ov.spend), t("finance.kpi.spend.detail", {claims: ov.claims}));
  tile("kpi-flagged", String(ov.flagged), t("finance.kpi.flagged.detail", {review: ov.needs_review}));

  const amount = v => money(String(v), "HKD");
  const count = v => new Intl.NumberFormat(intlLocale).format(v);
  chart("category", "doughnut", ov.by_category.map(r => categoryText(r.key)),
        ov.by_category.map(r => Number(r.hkd.amount)), amount, t("finance.kpi.spend"));
  chart("department", "bar", ov.by_department.map(r => r.label),
        ov.by_department.map(r => Number(r.hkd.amount)), amount, t("finance.kpi.spend"));
  chart("month", "bar", ov.by_month.map(r => monthText(r.key)),
        ov.by_month.map(r => Number(r.hkd.amount)), amount, t("finance.kpi.spend"));
  chart("approval", "bar", d.histogram.map(b => t("finance.chart.hours", {bin: b.bin})),
        d.histogram.map(b => b.claims), count, t("finance.chart.claims"));
  $("fin-status-line").textContent = t("finance.updated", {from: monthText(ov.range.from), to: monthText(ov.range.to),
                                                            claims: ov.claims});
}

function departmentChoices(ov) {
  if (!ov.can_pick_department) return;
  const select = $("fin-dept");
  if (select.options.length <= 1) {
    for (const d of ov.choices) select.add(new Option(d.name, d.department_id));
  }
  $("fin-dept-field").hidden = false;
}

function claimRow(c) {
  const amounts = c.amounts.map(m => money(m.amount, m.currency)).join(" + ");
  const equiv = c.foreign ? `<span class="equiv">${esc(t("finance.hkd_equiv", {amount: hkd(c.hkd)}))}</span>` : "";
  const flags = [c.flagged ? t("finance.flag") : "", c.needs_review ? t("finance.review") : ""].filter(Boolean);
  return `<tr><td data-label="${esc(t("finance.col.title"))}"><a href="${root}claim/${encodeURIComponent(c.claim_id)}">`
    + `${esc(c.title)}</a>${flags.length ? ` <span class="risk">${esc(flags.join(" · "))}</span>` : ""}</td>`
    + `<td data-label="${esc(t("finance.col.claimant"))}">${esc(c.claimant)}</td>`
    + `<td data-label="${esc(t("finance.col.department"))}">${esc(c.department)}</td>`
    + `<td data-label="${esc(t("finance.col.created"))}">${esc(when(c.created_at))}</td>`
    + `<td data-label="${esc(t("finance.col.status"))}">${statusChip(c.status)}</td>`
    + `<td class="num" data-label="${esc(t("finance.col.amounts"))}">${esc(amounts)}${equiv}</td></tr>`;
}

function queueItem(c, reasons) {
  return `<li><a href="${root}claim/${encodeURIComponent(c.claim_id)}">${esc(c.title)}</a> · ${esc(c.claimant)} · `
    + `${statusChip(c.status)} · ${esc(hkd(c.hkd))}<p class="reasons">${esc(reasons.join("; "))}</p></li>`;
}

async function loadClaims() {
  const q = listQuery();
  q.set("page", page);
  q.set("page_size", PAGE_SIZE);
  const r = await api("GET", "finance/claims?" + q);
  if (r.status !== 200) {
    $("fin-error").textContent = errorText(r);
    return;
  }
  const body = r.body;
  $("fin-claims").querySelector("tbody").innerHTML = body.claims.map(claimRow).join("")
    || `<tr><td colspan="6">${esc(t("finance.none"))}</td></tr>`;
  $("fin-count").textContent = t("finance.count", {shown: body.claims.length, total: body.total});
  $("fin-capped").hidden = !body.capped;
  $("fin-capped").textContent = t("finance.capped", {cap: body.cap});
  const pages = Math.max(1, Math.ceil(body.total / PAGE_SIZE));
  $("fin-page").textContent = t("finance.page", {page: body.page, pages});
  $("fin-prev").disabled = body.page <= 1;
  $("fin-next").disabled = body.page >= pages;
}

async function loadAll() {
  $("fin-error").textContent = "";
  $("fin-status-line").textContent = t("finance.loading");
  const q = filters();
  const [ov, queues] = await Promise.all([
    api("GET", "finance/overview?" + q),
    api("GET", "finance/queues?" + new URLSearchParams(q.has("department") ? {department: q.get("department")} : {})),
  ]);
  if (ov.status !== 200) {
    $("fin-error").textContent = ov.status === 403 ? t("finance.forbidden") : errorText(ov);
    $("fin-status-line").textContent = "";
    return;
  }
  departmentChoices(ov.body);
  renderOverview(ov.body);
  if (queues.status === 200) {
    $("queue-anomalies").innerHTML = queues.body.anomalies.map(c => queueItem(c, c.reasons)).join("")
      || `<li>${esc(t("finance.queue.empty"))}</li>`;
    $("queue-review").innerHTML = queues.body.needs_review.map(c => queueItem(c, c.review_reasons)).join("")
      || `<li>${esc(t("finance.queue.empty"))}</li>`;
  }
  page = 1;
  await loadClaims();
}

// The file the server wrote for what the table shows, saved as a download (the API needs the bearer token, so a
// plain link cannot fetch it).
async function exportAs(format) {
  const q = listQuery();
  q.set("format", format);
  const accept = format === "xlsx" ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" : "text/csv";
  let r;
  try {
    r = await fetch(root + "finance/export?" + q, {headers: {Authorization: "Bearer " + session.token(), Accept: accept}});
  } catch {
    $("fin-error").textContent = t("error.network");
    return;
  }
  if (r.status !== 200) {
    $("fin-error").textContent = errorText({status: r.status, body: await r.json().catch(() => ({}))});
    return;
  }
  const name = (r.headers.get("content-disposition") || "").match(/filename="([^"]+)"/)?.[1] || `claims.${format}`;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await r.blob());
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  $("fin-export-done").textContent = t("finance.export.done", {file: name});
}

// Posting reconciliation (GET finance/reconciliation): per ledger, approved vs posted vs failed for the month, and
// each claim not in the books with its reason, in words (and when finance was sent it); both files download with
// the reader's token.
async function loadReconciliation() {
  const period = $("recon-period").value;
  const r = await api("GET", "finance/reconciliation?" + new URLSearchParams({period}));
  if (r.status !== 200) {
    $("recon-differences").innerHTML = `<li>${esc(errorText(r))}</li>`;
    return;
  }
  const cell = (label, value, num) => `<td${num ? ' class="num"' : ""} data-label="${esc(t(label))}">${esc(value)}</td>`;
  $("recon-ledgers").querySelector("tbody").innerHTML = r.body.ledgers.map(l => "<tr>"
    + cell("reconciliation.col.ledger", l.ledger_name) + cell("reconciliation.col.approved", l.approved, true)
    + cell("reconciliation.col.posted", l.posted, true) + cell("reconciliation.col.failed", l.failed, true)
    + cell("reconciliation.col.waiting", l.waiting, true)
    + cell("reconciliation.col.approved_hkd", money(l.approved_hkd, "HKD"), true)
    + cell("reconciliation.col.posted_hkd", money(l.posted_hkd, "HKD"), true) + "</tr>").join("")
    || `<tr><td colspan="7">${esc(t("reconciliation.empty"))}</td></tr>`;
  $("recon-differences").innerHTML = r.body.differences.map(d => `<li><strong>${esc(d.kind_text)}</strong> · `
    + `${esc(d.ledger_name)} · <a href="${root}claim/${encodeURIComponent(d.claim_id)}">${esc(d.claim_id)}</a>`
    + (d.approved_hkd ? ` · ${esc(money(d.approved_hkd, "HKD"))}` : "")
    + `<p class="reasons">${esc(d.reason)}</p>`
    + (d.finance_told_at ? `<p class="hint">${esc(t("reconciliation.finance_told", {at: when(d.finance_told_at)}))}</p>` : "")
    + "</li>").join("")
    || `<li>${esc(t("reconciliation.none"))}</li>`;
}

async function download(path, fallback) {
  let r;
  try {
    r = await fetch(root + path, {headers: {Authorization: "Bearer " + session.token(), Accept: "text/csv"}});
  } catch {
    $("recon-done").textContent = t("error.network");
    return;
  }
  if (r.status !== 200) {
    $("recon-done").textContent = errorText({status: r.status, body: await r.json().catch(() => ({}))});
    return;
  }
  const name = (r.headers.get("content-disposition") || "").match(/filename="([^"]+)"/)?.[1] || fallback;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await r.blob());
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  $("recon-done").textContent = t("finance.export.done", {file: name});
}

async function start() {
  if (!session.token()) {
    signIn();
    return;
  }
  const who = await me();
  const roles = new Set(who?.roles || []);
  if (!["finance", "auditor", "admin"].some(r => roles.has(r))) {
    $("fin-denied").hidden = false;
    $("fin-body").hidden = true;
    return;
  }
  const now = new Date();
  $("fin-to").value = ym(now);
  $("fin-from").value = ym(new Date(now.getFullYear(), now.getMonth() - 11, 15));
  $("fin-filters").addEventListener("submit", event => {
    event.preventDefault();
    loadAll();
  });
  let typing;
  $("fin-search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { page = 1; loadClaims(); }, 300);
  });
  $("fin-sort").addEventListener("change", () => { page = 1; loadClaims(); });
  $("fin-prev").addEventListener("click", () => { page = Math.max(1, page - 1); loadClaims(); });
  $("fin-next").addEventListener("click", () => { page += 1; loadClaims(); });
  $("export-csv").addEventListener("click", () => exportAs("csv"));
  $("export-xlsx").addEventListener("click", () => exportAs("xlsx"));
  $("recon-period").value = ym(now);
  $("recon-period").addEventListener("change", loadReconciliation);
  const month = () => new URLSearchParams({period: $("recon-period").value});
  $("recon-csv").addEventListener("click", () => download("finance/reconciliation?format=csv&" + month(),
                                                          "reconciliation.csv"));
  $("journal-csv").addEventListener("click", () => download("finance/journal.csv?" + month(), "journal.csv"));
  await Promise.all([loadAll(), loadReconciliation()]);
}
start();
