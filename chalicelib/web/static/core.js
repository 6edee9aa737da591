// What every page shares (an ES module, served as a file under script-src 'self'): the page's language and its
// catalogue (the JSON data block base.html writes), amounts and times formatted for the reader, the signed-in
// session (the ID token in sessionStorage, so a reload keeps it and closing the tab ends it) and API calls.
const body = document.body;
export const root = body.dataset.root || "";
export const locale = body.dataset.locale || "zh-Hant";
const intlLocale = locale === "en" ? "en-HK" : "zh-Hant-HK";
const catalogue = JSON.parse(document.getElementById("messages").textContent);
const TOKEN = "hk-expense-token";

export const $ = id => document.getElementById(id);
export const esc = s => String(s ?? "").replace(/[&<>"']/g, c => "&#" + c.charCodeAt(0) + ";");

// The reader's string for `key`, with {name} placeholders filled; a missing key shows itself (tests catch it).
export function t(key, vars = {}) {
  const text = catalogue[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => name in vars ? String(vars[name]) : m);
}
export const statusText = status => catalogue["status." + status] ?? t("status.failed");
export const statusChip = status =>
  `<span class="chip chip-${esc(status)}">${esc(statusText(status))}</span>`;
export const categoryText = c => catalogue["category." + c] ?? c;
export const kindText = k => catalogue["kind." + k] ?? k;

// "HK$1,234.50" (the currency's own decimals); `amount` is the API's decimal string, never summed as a float here.
export function money(amount, currency = "HKD") {
  if (amount === null || amount === undefined || amount === "") return "";
  try {
    return new Intl.NumberFormat(intlLocale, {style: "currency", currency}).format(Number(amount));
  } catch {
    return `${currency} ${amount}`;
  }
}
// A UTC instant in the reader's own zone, the zone named ("1 Dec 2026, 14:02 HKT").
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(intlLocale, {year: "numeric", month: "short", day: "numeric", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23", timeZoneName: "short"}).format(d);
}
// A calendar date ("2026-11-03" on a receipt) as the reader writes dates; no zone: it is not an instant.
export function day(isoDate) {
  if (!isoDate) return "";
  const [y, m, d] = String(isoDate).slice(0, 10).split("-").map(Number);
  if (!y || !m || !d) return String(isoDate);
  return new Intl.DateTimeFormat(intlLocale, {year: "numeric", month: "short", day: "numeric", timeZone: "UTC"})
    .format(new Date(Date.UTC(y, m - 1, d)));
}

export const session = {
  token: () => sessionStorage.getItem(TOKEN),
  save: token => sessionStorage.setItem(TOKEN, token),
  clear: () => sessionStorage.removeItem(TOKEN),
};

// The sign-in page, coming back here afterwards (a relative path on this site only).
export function signIn() {
  const base = new URL(root || "./", location.href).href;
  const next = location.href.startsWith(base) ? location.href.slice(base.length) : "";
  location.assign(`${root}signin?next=${encodeURIComponent(next)}`);
}

// {status, body}; a missing or expired sign-in goes to the sign-in page. A network failure is status 0.
export async function api(method, path, data, {signInOn401 = true} = {}) {
  const headers = {"Content-Type": "application/json"};
  if (session.token()) headers.Authorization = "Bearer " + session.token();
  let r;
  try {
    r = await fetch(root + path, {method, headers, body: data === undefined ? undefined : JSON.stringify(data)});
  } catch {
    return {status: 0, body: {error: t("error.network")}};
  }
  const type = r.headers.get("content-type") || "";
  const answer = type.includes("json") ? await r.json() : await r.text();
  if (r.status === 401 && signInOn401) {
    session.clear();
    signIn();
  }
  return {status: r.status, body: answer};
}

// An API error as words in the reader's language where the status says enough, else the API's own sentence.
export function errorText(answer) {
  const e = answer && answer.body !== undefined ? answer.body.error : answer && answer.error;
  const status = answer && answer.status;
  if (status === 0) return t("error.network");
  if (status === 403) return t("error.forbidden");
  if (status === 404) return t("error.not_found");
  if (typeof e === "string" && e) return e;
  if (Array.isArray(e)) return e.map(x => x.msg).join("; ");
  return t("error.generic");
}

let mePromise = null;
// Who is signed in, from the directory (name, department, roles, time zone); null when nobody is.
export function me() {
  if (!session.token()) return Promise.resolve(null);
  mePromise ??= api("GET", "me").then(r => r.status === 200 ? r.body : null);
  return mePromise;
}

// The header: nav links for the reader's roles, their name, sign out, and the language switch (a cookie the
// server reads when it renders the next page).
async function header() {
  for (const b of document.querySelectorAll(".lang-pick")) {
    b.addEventListener("click", () => {
      document.cookie = `lang=${b.dataset.lang}; path=/; max-age=31536000; samesite=lax`;
      location.reload();
    });
  }
  const who = await me();
  if (!who) return;
  const roles = new Set(who.roles);
  for (const li of document.querySelectorAll("nav li[data-role]")) {
    const role = li.dataset.role;
    li.hidden = !(roles.has(role) || (role === "finance" && (roles.has("auditor") || roles.has("admin"))));
  }
  $("who").textContent = t("nav.signed_in_as", {name: who.name});
  const out = $("sign-out");
  out.hidden = false;
  out.addEventListener("click", () => {
    session.clear();
    location.assign(`${root}signin?signout=1`);
  });
}
header();
