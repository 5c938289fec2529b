import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { generateIdentity, identityToRecipient } from "age-encryption";
import {
  createEncryptor,
  decryptStream,
  identityFingerprints,
  parseRecipients,
  readIdentityFile,
  recipientFingerprint,
} from "../../../src/core/crypto/age.ts";
import { IntegrityError, StorageError, UsageError } from "../../../src/core/errors.ts";
import { withWorkspace } from "../../helpers/workspace.ts";

const MiB = 1 << 20;
const WHAT = 'backup "full_20260101T000000Z"';
const DAMAGED = `Cannot decrypt ${WHAT}: the encrypted data is damaged or was altered`;
const IDENTITY_HINT =
  "give an age identity file made by age-keygen with --identity or BACKUP_AGE_IDENTITY_FILE";

interface Key {
  identity: string;
  recipient: string;
}

async function newKey(): Promise<Key> {
  const identity = await generateIdentity();
  return { identity, recipient: await identityToRecipient(identity) };
}

function random(bytes: number): Uint8Array {
  return new Uint8Array(randomBytes(bytes));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Encrypts `data` in writes of `chunkBytes`, reusing one write buffer as a reader would. */
async function encrypt(recipients: string[], data: Uint8Array, chunkBytes = 64 * 1024) {
  const out: Uint8Array[] = [];
  const encryptor = createEncryptor(recipients, async (chunk) => {
    await Promise.resolve();
    out.push(chunk);
  });
  const scratch = new Uint8Array(Math.min(chunkBytes, Math.max(data.length, 1)));
  for (let at = 0; at < data.length; at += chunkBytes) {
    const part = data.subarray(at, at + chunkBytes);
    scratch.set(part);
    await encryptor.write(scratch.subarray(0, part.length));
    scratch.fill(0);
  }
  await encryptor.end();
  return concat(out);
}

/** A stream of `data` in chunks of `chunkBytes`, as a file or an S3 body delivers it. */
function streamOf(data: Uint8Array, chunkBytes = 100_000): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= data.length) return controller.close();
      controller.enqueue(data.slice(at, at + chunkBytes));
      at += chunkBytes;
    },
  }, { highWaterMark: 0 });
}

async function decrypt(ciphertext: Uint8Array, identities: string[], chunkBytes = 100_000) {
  const parts: Uint8Array[] = [];
  for await (const part of decryptStream(streamOf(ciphertext, chunkBytes), identities, WHAT)) {
    parts.push(part);
  }
  return concat(parts);
}

async function decryptError(ciphertext: Uint8Array, identities: string[]): Promise<unknown> {
  try {
    await decrypt(ciphertext, identities);
  } catch (error) {
    return error;
  }
  assert.fail("decryption succeeded");
}

async function run(command: string, args: string[], stdin?: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Written while the output is read: a full pipe would otherwise block both sides.
  const fed = stdin ? ReadableStream.from([stdin]).pipeTo(child.stdin) : Promise.resolve();
  const [{ code, stdout, stderr }] = await Promise.all([child.output(), fed]);
  assert.equal(code, 0, `${command} failed: ${new TextDecoder().decode(stderr)}`);
  return stdout;
}

/** Where the payload (nonce, then 64 KiB + 16 byte chunks) starts in an age file. */
function payloadStart(ciphertext: Uint8Array): number {
  const text = new TextDecoder("latin1").decode(ciphertext.subarray(0, 4096));
  return text.indexOf("\n", text.indexOf("\n--- ") + 1) + 1;
}

Deno.test("createEncryptor() output decrypts to the input for empty, small and multi-MiB data", async () => {
  const key = await newKey();
  const cases: [number, number[]][] = [
    [0, [1]],
    [1, [1]],
    [1000, [1, 7, 1000]],
    [65536, [65536, 4096]],
    [5 * MiB + 123, [1000, 65536, MiB + 7, 16 * MiB]],
  ];
  for (const [size, chunkSizes] of cases) {
    const data = random(size);
    for (const chunkBytes of chunkSizes) {
      const ciphertext = await encrypt([key.recipient], data, chunkBytes);
      for (const readBytes of [1, 4099, MiB, 20 * MiB]) {
        if (readBytes === 1 && ciphertext.length > 100_000) continue;
        const plain = await decrypt(ciphertext, [key.identity], readBytes);
        assert.deepEqual(plain, data, `size ${size}, writes ${chunkBytes}, reads ${readBytes}`);
      }
    }
  }
});

Deno.test("createEncryptor() gives the sink chunks of about 1 MiB whatever the write size", async () => {
  const key = await newKey();
  const sizes: number[] = [];
  const encryptor = createEncryptor([key.recipient], (chunk) => {
    sizes.push(chunk.length);
    return Promise.resolve();
  });
  const row = random(37);
  for (let i = 0; i < 100_000; i++) await encryptor.write(row);
  await encryptor.end();
  assert.equal(sizes.length, 4);
  assert.deepEqual(sizes.slice(0, 3), [MiB, MiB, MiB]);
});

Deno.test("decryptStream() reads an async iterable as well as a stream", async () => {
  const key = await newKey();
  const data = random(300_000);
  const ciphertext = await encrypt([key.recipient], data);
  async function* parts() {
    for (let at = 0; at < ciphertext.length; at += 5000) yield ciphertext.slice(at, at + 5000);
  }
  const plain = concat(await Array.fromAsync(decryptStream(parts(), [key.identity], WHAT)));
  assert.deepEqual(plain, data);
});

Deno.test("decryptStream() gives no chunk at all for an empty file", async () => {
  const key = await newKey();
  const ciphertext = await encrypt([key.recipient], new Uint8Array(0));
  const chunks = await Array.fromAsync(decryptStream(streamOf(ciphertext), [key.identity], WHAT));
  assert.deepEqual(chunks, []);
});

Deno.test("createEncryptor() output decrypts with the age CLI, and age CLI output with decryptStream()", async () => {
  await withWorkspace(async ({ root }) => {
    const keyFile = join(root, "key.txt");
    await run("age-keygen", ["-o", keyFile]);
    const recipient = new TextDecoder().decode(await run("age-keygen", ["-y", keyFile])).trim();
    const identities = await readIdentityFile(keyFile);
    for (const size of [0, 1, 3 * MiB + 5]) {
      const data = random(size);
      const ours = join(root, "ours.age");
      await Deno.writeFile(ours, await encrypt([recipient], data, 100_000));
      assert.deepEqual(await run("age", ["-d", "-i", keyFile, ours]), data, `age -d, ${size} B`);

      const theirs = await run("age", ["-r", recipient], data);
      assert.deepEqual(await decrypt(theirs, identities), data, `age -r, ${size} B`);
    }
  });
});

Deno.test("createEncryptor() with several recipients makes a file each identity decrypts alone", async () => {
  const keys = await Promise.all([newKey(), newKey(), newKey()]);
  const data = random(200_000);
  const ciphertext = await encrypt(keys.map((k) => k.recipient), data);
  for (const key of keys) assert.deepEqual(await decrypt(ciphertext, [key.identity]), data);
  const stranger = await newKey();
  assert.deepEqual(await decrypt(ciphertext, [stranger.identity, keys[2].identity]), data);
});

Deno.test("decryptStream() with an identity of another recipient fails with a UsageError", async () => {
  const [key, other] = [await newKey(), await newKey()];
  const ciphertext = await encrypt([key.recipient], random(1000));
  const error = await decryptError(ciphertext, [other.identity]);
  assert.ok(error instanceof UsageError);
  assert.equal(
    error.message,
    `Cannot decrypt ${WHAT}: none of the identities in the identity file matches its recipients (use the identity file of a recipient it was encrypted for)`,
  );
  assert.ok(!error.message.includes(other.identity));
});

Deno.test("decryptStream() fails with an IntegrityError on a byte flipped in the middle of the payload", async () => {
  const key = await newKey();
  const ciphertext = await encrypt([key.recipient], random(5 * MiB));
  const at = Math.floor(ciphertext.length / 2);
  ciphertext[at] ^= 0x01;
  const chunk = Math.floor((at - payloadStart(ciphertext) - 16) / (65536 + 16));
  const error = await decryptError(ciphertext, [key.identity]);
  assert.ok(error instanceof IntegrityError);
  assert.equal(
    error.message,
    `${DAMAGED} (authentication fails after ${chunk * 65536} bytes of plaintext)`,
  );
});

Deno.test("decryptStream() fails with an IntegrityError on a file cut short anywhere", async () => {
  const key = await newKey();
  const ciphertext = await encrypt([key.recipient], random(200_000));
  const payload = payloadStart(ciphertext);
  const cases: [number, string][] = [
    [0, "it ends inside the header"],
    [10, "it ends inside the header"],
    [60, "it ends inside the header"],
    [payload - 5, "it ends inside the header"],
    [payload + 8, "it ends before its payload"],
    [payload + 16, "authentication fails after 0 bytes of plaintext"],
    [payload + 16 + 65552, "authentication fails after 0 bytes of plaintext"],
    [ciphertext.length - 1, "authentication fails after 196608 bytes of plaintext"],
  ];
  for (const [length, reason] of cases) {
    const error = await decryptError(ciphertext.slice(0, length), [key.identity]);
    assert.ok(error instanceof IntegrityError, `cut at ${length}: ${error}`);
    assert.equal(error.message, `${DAMAGED} (${reason})`, `cut at ${length}`);
  }
});

Deno.test("decryptStream() fails with an IntegrityError on junk appended to the file", async () => {
  const key = await newKey();
  for (const size of [0, 1000, 65536]) {
    const ciphertext = await encrypt([key.recipient], random(size));
    for (const junk of [random(1), random(16), random(70_000)]) {
      const error = await decryptError(concat([ciphertext, junk]), [key.identity]);
      assert.ok(error instanceof IntegrityError, `size ${size}, junk ${junk.length}`);
      assert.match(error.message, /\(authentication fails after \d+ bytes of plaintext\)$/);
    }
  }
});

Deno.test("decryptStream() fails with an IntegrityError on a file that is not age", async () => {
  const key = await newKey();
  for (const data of [random(1000), new TextEncoder().encode("hello\n"), new Uint8Array(50)]) {
    const error = await decryptError(data, [key.identity]);
    assert.ok(error instanceof IntegrityError);
    assert.equal(error.message, `${DAMAGED} (not an age file)`);
  }
});

Deno.test("decryptStream() stops reading a header that never ends", async () => {
  const key = await newKey();
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(
        pulled === 1
          ? new TextEncoder().encode("age-encryption.org/v1\n-> X25519 ")
          : new Uint8Array(MiB).fill(0x41),
      );
    },
  }, { highWaterMark: 0 });
  const error = await Array.fromAsync(decryptStream(endless, [key.identity], WHAT)).catch((e) => e);
  assert.ok(error instanceof IntegrityError);
  assert.equal(error.message, `${DAMAGED} (the header is malformed)`);
  assert.ok(pulled <= 4, `pulled ${pulled} MiB`);
});

Deno.test("decryptStream() fails with an IntegrityError on an altered header", async () => {
  const key = await newKey();
  const ciphertext = await encrypt([key.recipient], random(1000));
  const header = new TextDecoder().decode(ciphertext.subarray(0, payloadStart(ciphertext)));
  const rest = ciphertext.subarray(header.length);
  const withHeader = (text: string) => concat([new TextEncoder().encode(text), rest]);

  const mac = header.slice(header.indexOf("--- ") + 4, -1);
  const otherMac = (mac[0] === "A" ? "B" : "A") + mac.slice(1);
  const cases: [string, string][] = [
    [header.replace(mac, otherMac), "the header fails authentication"],
    // A low-order point as the ephemeral share: WebCrypto refuses it.
    [header.replace(/X25519 \S+/, "X25519 " + "A".repeat(43)), "the header is malformed"],
    [header.replace("-> X25519", "->  X25519"), "the header is malformed"],
    [header.replace("--- ", "-- "), "the header is malformed"],
  ];
  for (const [text, reason] of cases) {
    const error = await decryptError(withHeader(text), [key.identity]);
    assert.ok(error instanceof IntegrityError, reason);
    assert.equal(error.message, `${DAMAGED} (${reason})`);
  }
});

Deno.test("decryptStream() rethrows the source's own error unchanged", async () => {
  const key = await newKey();
  const ciphertext = await encrypt([key.recipient], random(500_000));
  const failure = new StorageError('Cannot read "x.age": connection reset');
  for (const after of [0, 1, 300_000]) {
    let given = false;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (given || after === 0) return controller.error(failure);
        given = true;
        controller.enqueue(ciphertext.slice(0, after));
      },
    }, { highWaterMark: 0 });
    const error = await Array.fromAsync(decryptStream(source, [key.identity], WHAT)).catch((e) =>
      e
    );
    assert.equal(error, failure, `after ${after} bytes`);
  }
});

Deno.test("decryptStream() cancels its source when the reader cancels", async () => {
  const key = await newKey();
  const ciphertext = await encrypt([key.recipient], random(3 * MiB));
  let cancelled = false;
  let at = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(ciphertext.slice(at, at + 65536));
      at += 65536;
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  const reader = decryptStream(source, [key.identity], WHAT).getReader();
  await reader.read();
  await reader.cancel();
  assert.ok(cancelled);
  assert.ok(at < ciphertext.length);

  let cancelledEarly = false;
  const idle = new ReadableStream<Uint8Array>({ cancel: () => void (cancelledEarly = true) });
  await decryptStream(idle, [key.identity], WHAT).cancel();
  assert.ok(cancelledEarly);
});

Deno.test("decryptStream() refuses no identity or a malformed one without quoting it", () => {
  const source = streamOf(new Uint8Array(0));
  assert.throws(() => decryptStream(source, [], WHAT), {
    name: "UsageError",
    message: `Cannot decrypt ${WHAT}: no identity was given (${IDENTITY_HINT})`,
  });
  const typo = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
  assert.throws(() => decryptStream(source, [typo], WHAT), (error: Error) => {
    assert.ok(error instanceof UsageError);
    assert.equal(
      error.message,
      `Cannot decrypt ${WHAT}: identity 1 is not an age X25519 identity (${IDENTITY_HINT})`,
    );
    assert.equal(error.cause, undefined);
    return true;
  });
});

Deno.test("createEncryptor() write() waits for a slow sink so little is in flight", async () => {
  const key = await newKey();
  let received = 0;
  let maxInFlight = 0;
  const encryptor = createEncryptor([key.recipient], async (chunk) => {
    await new Promise((resolve) => setTimeout(resolve, 2));
    received += chunk.length;
  });
  const block = random(MiB);
  let written = 0;
  for (let i = 0; i < 24; i++) {
    await encryptor.write(block);
    written += block.length;
    maxInFlight = Math.max(maxInFlight, written - received);
  }
  const big = random(16 * MiB);
  await encryptor.write(big);
  written += big.length;
  maxInFlight = Math.max(maxInFlight, written - received);
  await encryptor.end();
  assert.ok(maxInFlight <= 8 * MiB, `${maxInFlight / MiB} MiB in flight`);
  assert.ok(received > written);
});

Deno.test("createEncryptor() rethrows the sink's error from write() and end()", async () => {
  const key = await newKey();
  const failure = new Error("disk full");
  let calls = 0;
  const encryptor = createEncryptor([key.recipient], () => {
    calls++;
    return Promise.reject(failure);
  });
  const block = random(MiB);
  const error = await (async () => {
    for (let i = 0; i < 20; i++) await encryptor.write(block);
  })().catch((e) => e);
  assert.equal(error, failure);
  await assert.rejects(encryptor.end(), (e) => e === failure);
  assert.equal(calls, 1);

  const late = createEncryptor([key.recipient], () => Promise.reject(failure));
  await late.write(random(10));
  await assert.rejects(late.end(), (e) => e === failure);
});

Deno.test("createEncryptor() abort() releases a blocked write and the sink is not called again", async () => {
  const key = await newKey();
  let release!: () => void;
  const sinkBlocked = new Promise<void>((resolve) => release = resolve);
  let calls = 0;
  const encryptor = createEncryptor([key.recipient], async () => {
    calls++;
    await sinkBlocked;
  });
  const block = random(MiB);
  const writes = (async () => {
    for (let i = 0; i < 50; i++) await encryptor.write(block);
  })();
  await new Promise((resolve) => setTimeout(resolve, 50));
  encryptor.abort();
  await assert.rejects(writes, {
    name: "BackupManagerError",
    message: "Cannot encrypt: the stream was aborted",
  });
  release();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(calls, 1);
  const aborted = { name: "BackupManagerError", message: "Cannot encrypt: the stream was aborted" };
  await assert.rejects(encryptor.write(block), aborted);
  await assert.rejects(encryptor.end(), aborted);

  // Aborting after the end, before anything was written, or twice, is harmless too.
  const done = createEncryptor([key.recipient], () => Promise.resolve());
  await done.end();
  done.abort();
  const idle = createEncryptor([key.recipient], () => Promise.resolve());
  idle.abort();
  idle.abort();
  await new Promise((resolve) => setTimeout(resolve, 20));
});

Deno.test("createEncryptor() refuses to encrypt for nobody", () => {
  assert.throws(() => createEncryptor([], () => Promise.resolve()), {
    name: "UsageError",
    message:
      "Invalid encryption recipients: it lists no recipient (give age public keys, as printed by age-keygen or age-keygen -y)",
  });
});

Deno.test("readIdentityFile() reads every key of an age-keygen file and skips comments", async () => {
  await withWorkspace(async ({ root }) => {
    const one = join(root, "one.txt");
    const two = join(root, "two.txt");
    await run("age-keygen", ["-o", one]);
    await run("age-keygen", ["-o", two]);
    const both = join(root, "both.txt");
    await Deno.writeTextFile(
      both,
      (await Deno.readTextFile(one)) + "\n  \n# backup key\r\n" + (await Deno.readTextFile(two)),
    );
    const identities = await readIdentityFile(both);
    assert.equal(identities.length, 2);
    assert.deepEqual(identities, [...await readIdentityFile(one), ...await readIdentityFile(two)]);
    for (const identity of identities) assert.match(identity, /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
  });
});

Deno.test("readIdentityFile() refuses a missing file, a file without keys and a bad line", async () => {
  await withWorkspace(async ({ root }) => {
    const refused = (path: string, state: string) => ({
      name: "UsageError",
      message: `Cannot read identity file "${path}": ${state} (${IDENTITY_HINT})`,
    });
    const missing = join(root, "missing.txt");
    await assert.rejects(readIdentityFile(missing), refused(missing, "it does not exist"));
    await assert.rejects(readIdentityFile(root), refused(root, "it is a directory"));

    const empty = join(root, "empty.txt");
    await Deno.writeTextFile(empty, "# created: 2026-01-01\n# public key: age1xyz\n\n");
    await assert.rejects(
      readIdentityFile(empty),
      refused(empty, "it holds no AGE-SECRET-KEY-1… line"),
    );

    const key = await newKey();
    const typo = key.identity.slice(0, -1) + (key.identity.endsWith("Q") ? "P" : "Q");
    const bad = join(root, "bad.txt");
    await Deno.writeTextFile(bad, `# key\n${key.identity}\n${typo}\n`);
    await assert.rejects(readIdentityFile(bad), (error: Error) => {
      assert.deepEqual(
        { name: error.name, message: error.message },
        refused(bad, "line 3 is not an age X25519 identity (AGE-SECRET-KEY-1…)"),
      );
      assert.equal(error.cause, undefined);
      return true;
    });

    const ssh = join(root, "id_ed25519");
    await Deno.writeTextFile(ssh, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNz\n");
    await assert.rejects(
      readIdentityFile(ssh),
      refused(ssh, "line 1 is not an age X25519 identity (AGE-SECRET-KEY-1…)"),
    );
  });
});

Deno.test("parseRecipients() returns valid recipients trimmed and without duplicates", async () => {
  const [a, b] = [await newKey(), await newKey()];
  assert.deepEqual(
    parseRecipients([` ${a.recipient}\n`, b.recipient, a.recipient], "encryption.recipients"),
    [a.recipient, b.recipient],
  );
});

Deno.test("parseRecipients() refuses a malformed recipient by name and a secret key without echoing it", async () => {
  const key = await newKey();
  const hint = "give age public keys, as printed by age-keygen or age-keygen -y";
  const typo = key.recipient.slice(0, -1) + (key.recipient.endsWith("q") ? "p" : "q");
  for (const bad of ["age1bad", typo, key.recipient.toUpperCase(), "ssh-ed25519 AAAA"]) {
    assert.throws(() => parseRecipients([key.recipient, bad], "encryption.recipients"), {
      name: "UsageError",
      message: `Invalid encryption.recipients: "${bad}" is not an age X25519 recipient (${hint})`,
    });
  }
  const plugin = "AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQQ";
  for (const secret of [key.identity, key.identity.toLowerCase(), plugin]) {
    assert.throws(() => parseRecipients([key.recipient, secret], "encryption.recipients"), {
      name: "UsageError",
      message:
        "Invalid encryption.recipients: entry 2 is an age secret key, not a recipient (give its public key, from age-keygen -y, and keep the secret key out of the configuration)",
    });
  }
});

Deno.test("recipientFingerprint() is stable, short and does not contain the key", async () => {
  const key = await newKey();
  const fingerprint = recipientFingerprint(key.recipient);
  assert.equal(recipientFingerprint(key.recipient), fingerprint);
  assert.match(fingerprint, /^sha256:[0-9a-f]{16}$/);
  assert.ok(!fingerprint.includes(key.recipient.slice(4, 12)));
  assert.notEqual(recipientFingerprint((await newKey()).recipient), fingerprint);
  // Pinned (computed with sha256sum): sidecars store fingerprints, so they must never change.
  assert.equal(
    recipientFingerprint("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"),
    "sha256:cf7e568231315068",
  );
});

Deno.test("identityFingerprints() gives the fingerprints of the identities' public keys", async () => {
  await withWorkspace(async ({ root }) => {
    const keyFile = join(root, "key.txt");
    await run("age-keygen", ["-o", keyFile]);
    const recipient = new TextDecoder().decode(await run("age-keygen", ["-y", keyFile])).trim();
    const other = await newKey();
    assert.deepEqual(
      await identityFingerprints([...await readIdentityFile(keyFile), other.identity]),
      [recipientFingerprint(recipient), recipientFingerprint(other.recipient)],
    );
  });
});
