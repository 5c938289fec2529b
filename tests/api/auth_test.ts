/**
 * Tokens and who may do what, table-driven: `authenticate()` against good, wrong and malformed
 * headers, `allows()` for each role pair, the token format and hash, and the failure throttle
 * with an injected clock.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  allows,
  type ApiToken,
  authenticate,
  FailureThrottle,
  hashToken,
  newToken,
  type Role,
} from "../../src/api/auth.ts";

const admin = newToken();
const viewer = newToken();
const TOKENS: ApiToken[] = [
  { name: "ops", sha256: admin.sha256, role: "admin" },
  { name: "grafana", sha256: viewer.sha256, role: "viewer" },
];
const OPS = { name: "ops", role: "admin" };
const GRAFANA = { name: "grafana", role: "viewer" };

Deno.test("authenticate() finds the principal of a good Bearer header and nobody otherwise", () => {
  const cases: [string, string | null, { name: string; role: string } | undefined][] = [
    ["the admin token", `Bearer ${admin.token}`, OPS],
    ["the viewer token", `Bearer ${viewer.token}`, GRAFANA],
    ["two spaces after the scheme", `Bearer  ${admin.token}`, OPS],
    ["spaces around the header", `  Bearer ${viewer.token}  `, GRAFANA],
    ["no header", null, undefined],
    ["an empty header", "", undefined],
    ["the scheme alone", "Bearer", undefined],
    ["the scheme and a space", "Bearer ", undefined],
    ["the token without a scheme", admin.token, undefined],
    ["Basic with user and token", `Basic ${btoa(`ops:${admin.token}`)}`, undefined],
    ["Basic with the token", `Basic ${admin.token}`, undefined],
    ["another scheme", `Token ${admin.token}`, undefined],
    ["a wrong token", `Bearer ${newToken().token}`, undefined],
    ["the token with one more character", `Bearer ${admin.token}x`, undefined],
    ["the token with one character less", `Bearer ${admin.token.slice(0, -1)}`, undefined],
    ["the token in another case", `Bearer ${admin.token.toUpperCase()}`, undefined],
    ["the token's hash instead of the token", `Bearer ${admin.sha256}`, undefined],
    ["two tokens", `Bearer ${admin.token} ${viewer.token}`, undefined],
    ["a token and a comma", `Bearer ${admin.token},`, undefined],
    ["a tab before the token", `Bearer\t${admin.token}`, undefined],
    ["a token over 512 characters", `Bearer ${"a".repeat(513)}`, undefined],
    ["a token with a non-ASCII letter", `Bearer ${admin.token}é`, undefined],
  ];
  for (const [what, header, expected] of cases) {
    assert.deepEqual(authenticate(header, TOKENS), expected, what);
  }
});

Deno.test("authenticate() reads the scheme in any case, as RFC 9110 §11.1 says", () => {
  for (const scheme of ["bearer", "BEARER", "bEaReR"]) {
    assert.deepEqual(authenticate(`${scheme} ${admin.token}`, TOKENS), OPS, scheme);
  }
});

Deno.test("authenticate() takes any configured hash, skips malformed ones, first name wins", () => {
  const long = "b".repeat(512);
  const cases: [string, ApiToken[], string, { name: string; role: string } | undefined][] = [
    ["no tokens configured", [], `Bearer ${admin.token}`, undefined],
    [
      "a hash in capitals",
      [{ name: "ops", sha256: admin.sha256.toUpperCase(), role: "admin" }],
      `Bearer ${admin.token}`,
      OPS,
    ],
    [
      "a malformed hash before the right one",
      [{ name: "broken", sha256: "zz", role: "admin" }, ...TOKENS],
      `Bearer ${viewer.token}`,
      GRAFANA,
    ],
    [
      "a hash that is too short",
      [{ name: "short", sha256: admin.sha256.slice(0, 62), role: "admin" }],
      `Bearer ${admin.token}`,
      undefined,
    ],
    [
      "the same hash twice",
      [
        { name: "first", sha256: viewer.sha256, role: "viewer" },
        { name: "second", sha256: viewer.sha256, role: "admin" },
      ],
      `Bearer ${viewer.token}`,
      { name: "first", role: "viewer" },
    ],
    [
      "a configured token of 512 characters",
      [{ name: "long", sha256: hashToken(long), role: "viewer" }],
      `Bearer ${long}`,
      { name: "long", role: "viewer" },
    ],
  ];
  for (const [what, tokens, header, expected] of cases) {
    assert.deepEqual(authenticate(header, tokens), expected, what);
  }
});

Deno.test("allows() lets admins do everything and viewers only read", () => {
  const cases: [Role, Role, boolean][] = [
    ["admin", "admin", true],
    ["admin", "viewer", true],
    ["viewer", "viewer", true],
    ["viewer", "admin", false],
  ];
  for (const [role, required, expected] of cases) {
    assert.equal(allows(role, required), expected, `${role} on a ${required} route`);
  }
});

Deno.test("hashToken() is the hex SHA-256 of the token", () => {
  assert.equal(
    hashToken("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(hashToken(admin.token), createHash("sha256").update(admin.token).digest("hex"));
});

Deno.test("newToken() makes bm_ and 256 random bits in base64url, with its hash", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const { token, sha256 } = newToken();
    assert.match(token, /^bm_[A-Za-z0-9_-]{43}$/);
    assert.equal(sha256, hashToken(token));
    assert.match(sha256, /^[0-9a-f]{64}$/);
    seen.add(token);
  }
  assert.equal(seen.size, 200);
  // every new token is accepted by authenticate() once its hash is configured
  const made = newToken();
  const tokens: ApiToken[] = [{ name: "new", sha256: made.sha256, role: "viewer" }];
  assert.deepEqual(authenticate(`Bearer ${made.token}`, tokens), { name: "new", role: "viewer" });
});

/** A throttle whose clock the test moves. */
function throttleAt(start = 1_000_000, options = {}) {
  let now = start;
  const throttle = new FailureThrottle({ now: () => now, ...options });
  return { throttle, advance: (ms: number) => now += ms };
}

Deno.test("FailureThrottle lets five failures through, then waits 250 ms doubling up to 10 s", () => {
  const { throttle } = throttleAt();
  const expected = [0, 0, 0, 0, 0, 250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000];
  const delays: number[] = [];
  for (let failures = 0; failures < expected.length; failures++) {
    delays.push(throttle.delayFor("10.0.0.1"));
    throttle.failed("10.0.0.1");
  }
  assert.deepEqual(delays, expected);
  for (let i = 0; i < 100; i++) throttle.failed("10.0.0.1");
  assert.equal(throttle.delayFor("10.0.0.1"), 10_000); // no overflow to Infinity
});

Deno.test("FailureThrottle counts each address alone and a success clears it", () => {
  const { throttle } = throttleAt();
  for (let i = 0; i < 6; i++) throttle.failed("10.0.0.1");
  assert.equal(throttle.delayFor("10.0.0.1"), 500);
  assert.equal(throttle.delayFor("10.0.0.2"), 0);
  assert.equal(throttle.delayFor("::1"), 0);
  throttle.succeeded("10.0.0.1");
  assert.equal(throttle.delayFor("10.0.0.1"), 0);
  for (let i = 0; i < 5; i++) throttle.failed("10.0.0.1");
  assert.equal(throttle.delayFor("10.0.0.1"), 250); // counted again from zero
  throttle.succeeded("10.0.0.9"); // an address without failures: nothing happens
});

Deno.test("FailureThrottle forgets failures once the window since the first has passed", () => {
  const cases: [string, number, number][] = [
    ["just after the failures", 0, 1000],
    ["at the end of the window", 60_000, 1000],
    ["past the window", 60_001, 0],
    ["long after", 24 * 60 * 60 * 1000, 0],
  ];
  for (const [what, later, expected] of cases) {
    const { throttle, advance } = throttleAt();
    for (let i = 0; i < 7; i++) throttle.failed("10.0.0.1");
    advance(later);
    assert.equal(throttle.delayFor("10.0.0.1"), expected, what);
  }
  const { throttle, advance } = throttleAt();
  for (let i = 0; i < 7; i++) throttle.failed("10.0.0.1");
  advance(60_001);
  throttle.failed("10.0.0.1"); // a new window with one failure
  assert.equal(throttle.delayFor("10.0.0.1"), 0);
});

Deno.test("FailureThrottle takes its limits from its options", () => {
  const { throttle, advance } = throttleAt(0, {
    free: 2,
    windowMs: 1000,
    baseDelayMs: 100,
    maxDelayMs: 300,
  });
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    delays.push(throttle.delayFor("a"));
    throttle.failed("a");
  }
  assert.deepEqual(delays, [0, 0, 100, 200, 300, 300]);
  advance(1001);
  assert.equal(throttle.delayFor("a"), 0);
});

Deno.test("FailureThrottle keeps working with failures from very many addresses", () => {
  const { throttle, advance } = throttleAt();
  for (let i = 0; i < 10_001; i++) throttle.failed(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  advance(60_001);
  for (let i = 0; i < 6; i++) throttle.failed("192.0.2.1");
  assert.equal(throttle.delayFor("192.0.2.1"), 500);
  assert.equal(throttle.delayFor("10.0.0.0"), 0);
});

Deno.test("penalize() answers parallel failures from one address one after another", async () => {
  const throttle = new FailureThrottle({ free: 0, baseDelayMs: 10 });
  const started = performance.now();
  await Promise.all(Array.from({ length: 5 }, () => throttle.penalize("10.0.0.9")));
  // 10 + 20 + 40 + 80 + 160 ms when they take turns; parallel waits would end after 160 ms
  assert.ok(performance.now() - started >= 300, `took ${performance.now() - started} ms`);
});
