// The sign-in page. The stage's Cognito user pool signs people in; this page keeps the ID token in sessionStorage
// (core.js `session`) and goes back to `?next=` (a path of this site only).
// - A stage with a Hosted UI domain: authorization code + PKCE. The button stores a random code_verifier and state
//   in sessionStorage and goes to https://<domain>/oauth2/authorize with the S256 challenge; Cognito sends the
//   reader back here with ?code=&state=, and this page exchanges the code at https://<domain>/oauth2/token.
// - No Hosted UI (the local stack's pool on moto): employee id and password go from the browser straight to
//   Cognito's InitiateAuth (USER_PASSWORD_AUTH). The password never reaches our API.
import {$, root, session, t} from "./core.js";

const box = $("signin");
const clientId = box.dataset.clientId;
const endpoint = box.dataset.cognito;
const hosted = box.dataset.hosted;
const PKCE = "hk-expense-pkce";
const SIGNED_OUT = "hk-expense-signed-out";
const params = new URLSearchParams(location.search);
const here = location.origin + location.pathname; // the Hosted UI's callback and logout URL, exactly

// Where to go once signed in: `next` resolved against the stage root, kept only if it stays on this site and
// under the stage root (`https://evil.example`, `//evil.example`, `/\evil.example`, `javascript:` all go home).
export function safeNext(next, base = new URL(root || "./", location.href)) {
  const home = new URL(base);
  if (!next || /[\u0000-\u001f\\]/.test(next)) return home.pathname;
  let url;
  try {
    url = new URL(next, home);
  } catch {
    return home.pathname;
  }
  if (url.origin !== home.origin || !url.pathname.startsWith(home.pathname)) return home.pathname;
  return url.pathname + url.search + url.hash;
}

const say = text => { $("signin-status").textContent = text; };
function fail(key, field) {
  say("");
  $("signin-error").textContent = t(key);
  field?.focus();
}

function signedIn(idToken, next) {
  session.save(idToken);
  sessionStorage.removeItem(SIGNED_OUT);
  location.assign(safeNext(next));
}

// ---- sign out: the token goes; on the Hosted UI, its session too (Cognito then sends the reader back here) ----

let leaving = false; // on the way to the Hosted UI's logout: this page shows nothing meanwhile
if (params.has("signout")) {
  session.clear();
  sessionStorage.removeItem(PKCE);
  sessionStorage.setItem(SIGNED_OUT, "1");
  if (hosted) {
    leaving = true;
    location.replace(`https://${hosted}/logout?client_id=${encodeURIComponent(clientId)}` +
      `&logout_uri=${encodeURIComponent(here)}`);
  } else {
    history.replaceState(null, "", here);
  }
}
if (!leaving && sessionStorage.getItem(SIGNED_OUT) && !params.has("code")) say(t("signin.signed_out"));

// ---- the Hosted UI: authorization code + PKCE ----------------------------------------------------------------

const b64url = bytes => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const randomText = n => b64url(crypto.getRandomValues(new Uint8Array(n)));

async function startHosted() {
  const verifier = randomText(48); // 64 characters, within RFC 7636's 43-128
  const state = randomText(24);
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE, JSON.stringify({verifier, state, next: params.get("next") || ""}));
  const query = new URLSearchParams({response_type: "code", client_id: clientId, redirect_uri: here,
    scope: "openid email profile", state, code_challenge: challenge, code_challenge_method: "S256"});
  location.assign(`https://${hosted}/oauth2/authorize?${query}`);
}

async function finishHosted(code, state) {
  const saved = JSON.parse(sessionStorage.getItem(PKCE) || "null");
  sessionStorage.removeItem(PKCE); // one use, whatever happens
  history.replaceState(null, "", here); // the code leaves the address bar (and the history)
  if (!saved || !state || saved.state !== state) return fail("signin.expired", $("hosted-signin"));
  say(t("signin.signing_in"));
  let r;
  try {
    r = await fetch(`https://${hosted}/oauth2/token`, {
      method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
      body: new URLSearchParams({grant_type: "authorization_code", client_id: clientId, code, redirect_uri: here,
        code_verifier: saved.verifier})});
  } catch {
    return fail("signin.network", $("hosted-signin"));
  }
  const answer = await r.json().catch(() => ({}));
  if (!r.ok || !answer.id_token) {
    return fail(answer.error === "invalid_grant" ? "signin.expired" : "signin.failed", $("hosted-signin"));
  }
  signedIn(answer.id_token, saved.next);
}

// ---- no Hosted UI: InitiateAuth with the password, browser to Cognito ----------------------------------------

const ERRORS = {
  NotAuthorizedException: "signin.wrong",
  UserNotFoundException: "signin.wrong", // the same words: the page does not tell who has an account
  PasswordResetRequiredException: "signin.reset_required",
  UserNotConfirmedException: "signin.not_confirmed",
  TooManyRequestsException: "signin.too_many",
  LimitExceededException: "signin.too_many",
};

async function passwordSignIn(form) {
  $("signin-error").textContent = "";
  const idField = $("employee-id");
  const passwordField = $("password");
  const username = idField.value.trim().toUpperCase();
  const password = passwordField.value;
  if (!username) return fail("signin.missing", idField);
  if (!password) return fail("signin.missing", passwordField);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  say(t("signin.signing_in"));
  try {
    let r;
    try {
      r = await fetch(endpoint, {
        method: "POST",
        headers: {"Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
        body: JSON.stringify({AuthFlow: "USER_PASSWORD_AUTH", ClientId: clientId,
          AuthParameters: {USERNAME: username, PASSWORD: password}})});
    } catch {
      return fail("signin.network");
    }
    const answer = await r.json().catch(() => ({}));
    const token = answer.AuthenticationResult?.IdToken;
    if (r.ok && token) {
      passwordField.value = "";
      return signedIn(token, params.get("next"));
    }
    if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") return fail("signin.new_password", passwordField);
    const kind = String(answer.__type || "").split("#").pop();
    if (kind === "NotAuthorizedException" && /attempts exceeded/i.test(answer.message || "")) {
      return fail("signin.too_many");
    }
    passwordField.value = "";
    fail(ERRORS[kind] || "signin.failed", kind in ERRORS ? passwordField : undefined);
  } finally {
    button.disabled = false;
  }
}

// ---- wiring ----------------------------------------------------------------------------------------------------

if (leaving) {
  // nothing to wire: the Hosted UI's logout sends the reader back here
} else if (hosted) {
  $("hosted-signin").addEventListener("click", () => startHosted());
  if (params.has("code")) finishHosted(params.get("code"), params.get("state"));
  else if (params.has("error")) {
    history.replaceState(null, "", here);
    fail("signin.cancelled", $("hosted-signin"));
  }
} else {
  const form = $("password-signin");
  form.addEventListener("submit", event => {
    event.preventDefault();
    passwordSignIn(form);
  });
}
