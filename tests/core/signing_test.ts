import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import {
  canonicalJson,
  checkSignature,
  formatPublicKey,
  keyIdOf,
  parsePublicKey,
  readSigningKey,
  SignatureError,
  signedContent,
  signingSettings,
  signMeta,
} from "../../src/core/signing.ts";
import { IntegrityError, UsageError } from "../../src/core/errors.ts";
import { withWorkspace } from "../helpers/workspace.ts";

const CANONICAL: [string, unknown, string][] = [
  ["keys sorted", { b: 1, a: 2 }, '{"a":2,"b":1}'],
  [
    "nested objects sorted",
    { z: { y: 1, x: [{ b: 1, a: 0 }] } },
    '{"z":{"x":[{"a":0,"b":1}],"y":1}}',
  ],
  ["arrays keep their order", [3, 1, 2], "[3,1,2]"],
  ["strings escaped as JSON does", { s: 'a"\n' }, '{"s":"a\\"\\n"}'],
  ["null and booleans", { n: null, t: true }, '{"n":null,"t":true}'],
];

for (const [name, value, text] of CANONICAL) {
  Deno.test(`canonicalJson(): ${name}`, () => assert.equal(canonicalJson(value), text));
}

const pair = () => generateKeyPairSync("ed25519");
const sidecar = () => ({
  id: "full_20261123T101500000Z",
  engine: "sqlite",
  sizes: { raw: 10, compressed: 5 },
  file: { name: "full_20261123T101500000Z.sql.gz", sha256: "a".repeat(64) },
  description: "nightly",
});

Deno.test("signMeta() signatures verify with the public key, and only for the same content", () => {
  const { publicKey, privateKey } = pair();
  const trusted = [{ keyId: keyIdOf(publicKey), key: publicKey }];
  const meta = { ...sidecar(), signature: signMeta(sidecar(), privateKey) };
  assert.equal(meta.signature.keyId, keyIdOf(publicKey));
  assert.equal(checkSignature(meta, trusted, "restore"), keyIdOf(publicKey));
  // key order and the mutable fields do not matter
  const reordered = {
    signature: meta.signature,
    description: "nightly",
    file: meta.file,
    sizes: meta.sizes,
    engine: "sqlite",
    id: meta.id,
    pinned: true,
    pinReason: "before the migration",
    verification: { outcome: "passed" },
    sidecarSha256: "0".repeat(64),
  };
  assert.equal(checkSignature(reordered, trusted, "restore"), keyIdOf(publicKey));
});

const EDITS: [string, (m: ReturnType<typeof sidecar>) => unknown][] = [
  ["the data file's SHA-256", (m) => ({ ...m, file: { ...m.file, sha256: "b".repeat(64) } })],
  ["the size", (m) => ({ ...m, sizes: { ...m.sizes, compressed: 6 } })],
  ["the description", (m) => ({ ...m, description: "edited" })],
  ["an added field", (m) => ({ ...m, migration: { table: "x", version: "1" } })],
  ["a removed field", ({ description: _, ...m }) => m],
];

for (const [name, edit] of EDITS) {
  Deno.test(`checkSignature() refuses a sidecar whose ${name} changed after signing`, () => {
    const { publicKey, privateKey } = pair();
    const signature = signMeta(sidecar(), privateKey);
    const edited = { ...(edit(sidecar()) as object), id: sidecar().id, signature };
    assert.throws(
      () => checkSignature(edited, [{ keyId: keyIdOf(publicKey), key: publicKey }], "restore"),
      (error) =>
        error instanceof SignatureError && error instanceof IntegrityError &&
        error.message ===
          'Cannot restore backup "full_20261123T101500000Z": its signature does not match its sidecar (edited or forged); use another backup',
    );
  });
}

Deno.test("checkSignature() refuses an unsigned backup, and one signed by a key not trusted", () => {
  const ours = pair();
  const theirs = pair();
  const trusted = [{ keyId: keyIdOf(ours.publicKey), key: ours.publicKey }];
  assert.throws(
    () => checkSignature(sidecar(), trusted, "verify"),
    new SignatureError(
      'Cannot verify backup "full_20261123T101500000Z": it is not signed, and signing.trusted requires a signature (sign new backups with signing.key; use a signed backup)',
    ),
  );
  const foreign = { ...sidecar(), signature: signMeta(sidecar(), theirs.privateKey) };
  assert.throws(
    () => checkSignature(foreign, trusted, "restore"),
    new SignatureError(
      `Cannot restore backup "full_20261123T101500000Z": it is signed by key "${
        keyIdOf(theirs.publicKey)
      }", which is not in signing.trusted (add its public key there if you trust it; use another backup)`,
    ),
  );
  // a forger who copies our key id into its own signature
  const copied = {
    ...sidecar(),
    signature: { ...signMeta(sidecar(), theirs.privateKey), keyId: keyIdOf(ours.publicKey) },
  };
  assert.throws(() => checkSignature(copied, trusted, "restore"), /does not match its sidecar/);
});

Deno.test("checkSignature() with no trusted keys checks nothing", () => {
  assert.equal(checkSignature(sidecar(), [], "restore"), undefined);
  const bogus = { ...sidecar(), signature: { keyId: "SHA256:x", value: "AAAA" } };
  assert.equal(checkSignature(bogus, [], "restore"), undefined);
});

Deno.test("signedContent() leaves out exactly the fields verify and pin rewrite", () => {
  const base = new TextDecoder().decode(signedContent(sidecar()));
  const rewritten = new TextDecoder().decode(signedContent({
    ...sidecar(),
    verification: { outcome: "failed" },
    pinned: true,
    pinnedAt: "2026-11-23T10:15:00.000Z",
    pinReason: "x",
    sidecarSha256: "0".repeat(64),
    signature: { keyId: "k", value: "v" },
  }));
  assert.equal(rewritten, base);
  assert.match(base, /^backup-manager sidecar signature v1\n\{"description":"nightly","engine":/);
});

Deno.test("parsePublicKey() reads the ed25519: form and PEM to the same key id", () => {
  const { publicKey } = pair();
  const short = parsePublicKey(formatPublicKey(publicKey), "signing.trusted[0]");
  const pem = parsePublicKey(
    publicKey.export({ format: "pem", type: "spki" }) as string,
    "signing.trusted[0]",
  );
  assert.equal(short.keyId, keyIdOf(publicKey));
  assert.equal(pem.keyId, keyIdOf(publicKey));
  assert.match(short.keyId, /^SHA256:[A-Za-z0-9+/]{43}$/);
});

const BAD_KEYS: [string, string, string][] = [
  [
    "text",
    "hello",
    'Invalid value for signing.trusted[1]: expected an Ed25519 public key, "ed25519:<base64>" or PEM (see the keygen command)',
  ],
  [
    "a short key",
    "ed25519:AAAA",
    'Invalid value for signing.trusted[1]: expected an Ed25519 public key, "ed25519:<base64>" or PEM (see the keygen command)',
  ],
  [
    "an RSA key",
    generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey
      .export({ format: "pem", type: "spki" }) as string,
    "Invalid value for signing.trusted[1]: expected an Ed25519 key, not rsa",
  ],
  [
    "a private key",
    pair().privateKey.export({ format: "pem", type: "pkcs8" }) as string,
    'Invalid value for signing.trusted[1]: expected an Ed25519 public key, "ed25519:<base64>" or PEM (see the keygen command)',
  ],
];

for (const [name, text, message] of BAD_KEYS) {
  Deno.test(`parsePublicKey() refuses ${name} in one line that never quotes it`, () => {
    assert.throws(() => parsePublicKey(text, "signing.trusted[1]"), new UsageError(message));
  });
}

Deno.test("readSigningKey() reads a PKCS#8 PEM and says what is wrong with anything else", async () => {
  await withWorkspace(async (ws) => {
    await Deno.mkdir(ws.root, { recursive: true });
    const good = join(ws.root, "good.pem");
    const { privateKey, publicKey } = pair();
    await Deno.writeTextFile(good, privateKey.export({ format: "pem", type: "pkcs8" }) as string);
    assert.equal(keyIdOf(readSigningKey(good)), keyIdOf(publicKey));
    assert.equal(signingSettings({ key: good, trusted: [] }).key !== undefined, true);

    const missing = join(ws.root, "missing.pem");
    assert.throws(
      () => readSigningKey(missing),
      new UsageError(
        `Cannot read the signing key "${missing}" (signing.key): no such file; make one with the keygen command`,
      ),
    );
    const junk = join(ws.root, "junk.pem");
    await Deno.writeTextFile(junk, "SECRET-LOOKING-TEXT");
    assert.throws(
      () => readSigningKey(junk),
      (error) =>
        error instanceof UsageError &&
        error.message ===
          `Cannot read the signing key "${junk}" (signing.key): not a PEM private key; make one with the keygen command`,
    );
    const rsa = join(ws.root, "rsa.pem");
    await Deno.writeTextFile(
      rsa,
      generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey
        .export({ format: "pem", type: "pkcs8" }) as string,
    );
    assert.throws(
      () => readSigningKey(rsa),
      new UsageError(
        `Cannot use the signing key "${rsa}" (signing.key): it is rsa, expected Ed25519`,
      ),
    );
  });
});
