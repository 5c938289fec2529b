/**
 * Webhook and ping URLs carry their secret in the path or query (a Slack hook, a healthchecks
 * UUID), so nothing about them beyond scheme and host may reach a message or a log.
 */

/** `https://hooks.slack.com/services/T0/B0/xyz` -> `https://hooks.slack.com/…`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return "(invalid URL)";
  }
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>()]+/gi;

/**
 * `text` with every URL cut to scheme and host and every `secrets` string (passwords, tokens)
 * replaced: error messages of fetch and SMTP clients may quote what they were given.
 */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let scrubbed = text;
  for (const secret of secrets) {
    if (secret.length >= 4) scrubbed = scrubbed.split(secret).join("***");
  }
  return scrubbed.replace(URL_IN_TEXT, (url) => redactUrl(url));
}
