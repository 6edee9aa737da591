// The sign-in page: a development token on the local stack and dev, then back to `?next=` (a path on this site).
import {$, api, session, t, errorText} from "./core.js";

const params = new URLSearchParams(location.search);
if (params.has("signout")) session.clear();

// Only a relative path of this site: `next=https://evil.example` or `//evil.example` would be an open redirect.
export function safeNext(next) {
  if (!next || /^[a-z][a-z0-9+.-]*:/i.test(next) || next.startsWith("/") || next.startsWith("\\")) return "./";
  return next;
}

const form = $("dev-signin");
form?.addEventListener("submit", async event => {
  event.preventDefault();
  $("signin-error").textContent = "";
  const employee_id = form.elements.employee_id.value.trim();
  const r = await api("POST", "dev/token", {employee_id}, {signInOn401: false});
  if (r.status !== 200) {
    $("signin-error").textContent = r.status === 404 ? t("signin.unknown") : errorText(r);
    return;
  }
  session.save(r.body.token);
  location.assign(safeNext(params.get("next")));
});
