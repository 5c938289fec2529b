// The client of the JSON API (docs/api.md): the one place that calls fetch. It sends the
// session's bearer token and turns every failure (no server, an HTTP error, an API error body,
// an answer that is not JSON) into an ApiFailure whose message can be shown as it is. It also
// numbers the sessions, so that an answer arriving after a sign-out (or a new sign-in) is dropped.

/** The signed-in token, or null. */
let token = null;
/** Counts sign-ins and sign-outs: an answer from an earlier session is dropped. */
let session = 0;

/** A failed API call: the HTTP status (0: no answer) and the API's `error` (`code`, `message`). */
export class ApiFailure extends Error {
  constructor(status, error) {
    super(error.message);
    this.name = "ApiFailure";
    this.status = status;
    this.code = error.code;
    this.details = error;
  }
}

/** Starts a session: later calls send `newToken`. */
export function openSession(newToken) {
  session++;
  token = newToken;
}

/** Ends the session: later calls send no token, and earlier answers are no longer current. */
export function closeSession() {
  session++;
  token = null;
}

/** Whether a session is open. */
export function signedIn() {
  return Boolean(token);
}

/** The session's number: take it before an await, then ask {@linkcode isCurrent}. */
export function currentSession() {
  return session;
}

/** Whether the session numbered `number` is still the one open (no sign-out since). */
export function isCurrent(number) {
  return number === session;
}

/** The path of `action` on backup `id`: `/api/v1/backups/<id>/<action>`. */
export function backupPath(id, action) {
  return `/api/v1/backups/${encodeURIComponent(id)}/${action}`;
}

/** Calls the API with the token; answers the JSON body or throws an {@linkcode ApiFailure}. */
export async function api(method, path, body, withToken = token) {
  const headers = { accept: "application/json" };
  if (withToken) headers.authorization = `Bearer ${withToken}`;
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiFailure(0, {
      code: "network",
      message: `Cannot reach the server (${error.message || error}); check that it is running`,
    });
  }
  let json = null;
  if ((response.headers.get("content-type") ?? "").includes("application/json")) {
    try {
      json = await response.json();
    } catch {
      json = null;
    }
  }
  if (!response.ok || (json && json.success === false)) {
    const error = json && json.error && typeof json.error === "object" ? json.error : {
      code: `http_${response.status}`,
      message: `The server answered ${response.status} ${response.statusText}`.trim(),
    };
    if (typeof error.message !== "string" || error.message === "") {
      error.message = `The server answered ${response.status} (${error.code ?? "no message"})`;
    }
    throw new ApiFailure(response.status, error);
  }
  if (json === null) {
    throw new ApiFailure(response.status, {
      code: "not_json",
      message: `The server's answer to ${method} ${path} is not JSON`,
    });
  }
  return json;
}
