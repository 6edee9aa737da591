// The finance page's model section: per company, the anomaly model in use or "rules only" and why, in words.
import {$, api, errorText, esc, locale, session, t} from "./core.js";

const intlLocale = locale === "en" ? "en-HK" : "zh-Hant-HK";
const day = iso => iso ? new Intl.DateTimeFormat(intlLocale, {year: "numeric", month: "short", day: "numeric"})
  .format(new Date(iso + (iso.length === 10 ? "T00:00:00+08:00" : ""))) : "";
const percent = x => new Intl.NumberFormat(intlLocale, {maximumFractionDigits: 2}).format(x);
const companyName = c => c === "default" ? t("models.company.default") : c;

function line(c) {
  const name = `<strong>${esc(companyName(c.company))}</strong>: `;
  if (c.model) {
    return name + esc(t("models.in_use", {trained: day(c.trained_at), from: day(c.window_from),
      to: day(c.window_to), auc: percent(c.auc), rows: c.rows}));
  }
  if (c.why === "too_little_history") {
    return name + esc(t("models.rules_only.little", {claims: c.claims, rows: c.rows_read, needed: c.min_rows}));
  }
  return name + esc(t(c.why === "not_promoted" ? "models.rules_only.not_promoted" : "models.rules_only.not_trained"));
}

async function load() {
  if (!session.token()) return;
  const answer = await api("GET", "finance/models");
  const list = $("anomaly-models");
  if (answer.status !== 200) {
    list.innerHTML = `<li>${esc(errorText(answer))}</li>`;
    return;
  }
  const companies = answer.body.companies;
  list.innerHTML = companies.length ? companies.map(c => `<li>${line(c)}</li>`).join("")
    : `<li>${esc(t("models.none"))}</li>`;
}

load();
