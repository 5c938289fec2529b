// What the page says to the person at the top: notices (errors stay until dismissed, the rest
// go after a while), and `report`, which turns any failure into one. A refused token (401) is not
// a notice: it ends the session and says why on the sign-in form.
import { ApiFailure, signedIn } from "./api.js";
import { $, el } from "./dom.js";
import { showSignInMessage, signOut } from "./session.js";

const MAX_MESSAGES = 4;
/** Successes also stay in the jobs list, so their message goes after a while; errors stay. */
const SUCCESS_MS = 15_000;

const LABELS = { error: "Error", success: "Done" };

/** Shows a notice of `kind` (`error`, `success`, or anything else: a note), newest first. */
export function notify(kind, text) {
  const box = $("messages");
  const dismiss = el("button", { type: "button", class: "dismiss", text: "Dismiss" });
  const item = el(
    "p",
    { class: `message message-${kind}`, "data-kind": kind },
    el("strong", { text: `${LABELS[kind] ?? "Note"}: ` }),
    el("span", { class: "message-text", text }),
    " ",
    dismiss,
  );
  dismiss.addEventListener("click", () => item.remove());
  if (kind !== "error") setTimeout(() => item.remove(), SUCCESS_MS);
  box.prepend(item);
  while (box.children.length > MAX_MESSAGES) box.lastElementChild.remove();
}

/** Shows a failure, after `context` (`Cannot …`) when given; a refused token ends the session. */
export function report(error, context) {
  if (error instanceof ApiFailure && error.status === 401 && signedIn()) {
    signOut();
    showSignInMessage(`Signed out: ${error.message}`);
    return;
  }
  const text = error instanceof ApiFailure
    ? error.status === 403 ? `Not allowed: ${error.message}` : error.message
    : `Unexpected error: ${error && error.message ? error.message : error}`;
  notify("error", context ? `${context}: ${text}` : text);
}

/** Removes every notice (on sign-out). */
export function clearMessages() {
  $("messages").replaceChildren();
}
