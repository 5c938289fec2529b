import assert from "node:assert/strict";
import { redactUrl, scrubSecrets } from "../../../src/core/notify/_redact.ts";

Deno.test("redactUrl() keeps only scheme and host", () => {
  for (
    const [url, redacted] of [
      ["https://hooks.slack.com/services/T0/B0/xyz", "https://hooks.slack.com/…"],
      ["https://user:pw@example.com:8443/a?token=1", "https://example.com:8443/…"],
      ["not a url", "(invalid URL)"],
    ]
  ) {
    assert.equal(redactUrl(url), redacted);
  }
});

Deno.test("scrubSecrets() cuts URLs in text and replaces known secrets", () => {
  assert.equal(
    scrubSecrets(
      "error sending request for url (https://hc-ping.com/uuid-123/fail): refused; pass hunter22",
      ["hunter22"],
    ),
    "error sending request for url (https://hc-ping.com/…): refused; pass ***",
  );
});
