// Signing in and out, and the role. A sign-in checks the token with a status read before the page
// shows anything; the token then lives in this tab's sessionStorage only (a reload keeps it,
// another tab does not). The role is learnt without changing anything. Signing out forgets the
// token and calls the `whenSignedOut` listeners, so each panel forgets what it showed.
import { api, ApiFailure, closeSession, currentSession, isCurrent, openSession } from "./api.js";
import { $, showAlert, whileBusy } from "./dom.js";

const TOKEN_KEY = "backup-manager.token";

const ROLE_TEXT = {
  admin: "Signed in as admin",
  viewer: "Signed in as viewer (read only: actions need an admin token)",
};

const signOutListeners = [];

/** The token this tab signed in with before a reload, or null. */
export function savedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Shows `text` under the sign-in form; empty hides it. */
export function showSignInMessage(text) {
  showAlert("signin-message", text);
}

/** Shows the dashboard (signed in) or the sign-in form. */
function showSignedIn(yes) {
  $("signin-view").hidden = yes;
  $("app-view").hidden = !yes;
  $("session").hidden = !yes;
}

/**
 * Checks `token` with a status read and, when the API takes it, opens the session and shows the
 * dashboard. Answers the status body, or null after saying on the form why the sign-in failed.
 */
export async function signIn(token) {
  showSignInMessage("");
  let body;
  try {
    body = await whileBusy("sign-in", () => api("GET", "/api/v1/status", undefined, token));
  } catch (error) {
    // a refused token is forgotten; a server that does not answer may come back
    if (error instanceof ApiFailure && (error.status === 401 || error.status === 403)) {
      sessionStorage.removeItem(TOKEN_KEY);
    }
    showSignInMessage(
      !(error instanceof ApiFailure)
        ? `Cannot sign in: ${error.message}`
        : error.status === 401
        ? `Wrong token (401): ${error.message}`
        : error.message,
    );
    $("token").focus();
    return null;
  }
  openSession(token);
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token").value = "";
  showSignedIn(true);
  $("whoami").textContent = "Signed in";
  return body;
}

/**
 * Learns the role without changing anything: a cleanup preview is an admin endpoint that only
 * reads. A viewer's 403 says so; the buttons stay for everyone and answer with the API's
 * message. Throws what else fails.
 */
export async function learnRole() {
  const session = currentSession();
  let role;
  try {
    await api("POST", "/api/v1/cleanup", { dryRun: true });
    role = "admin";
  } catch (error) {
    if (!(error instanceof ApiFailure) || error.status === 401) throw error;
    role = error.status === 403 ? "viewer" : null;
  }
  if (!isCurrent(session)) return;
  $("whoami").textContent = ROLE_TEXT[role] ?? "Signed in";
  document.body.dataset.role = role ?? "unknown";
}

/** Calls `listener` on every sign-out, before the sign-in form shows again. */
export function whenSignedOut(listener) {
  signOutListeners.push(listener);
}

/** Ends the session, forgets the token, and shows the sign-in form. */
export function signOut() {
  closeSession();
  sessionStorage.removeItem(TOKEN_KEY);
  for (const listener of signOutListeners) listener();
  showSignedIn(false);
  delete document.body.dataset.role;
  $("token").focus();
}
