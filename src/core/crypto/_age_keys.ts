import { createHash } from "node:crypto";
import { Encrypter, identityToRecipient } from "npm:age-encryption@0.3.1";
import { messageOf, UsageError } from "../errors.ts";

/** What every identity message ends with: where a good identity file comes from. */
export const IDENTITY_HINT =
  "give an age identity file made by age-keygen with --identity or BACKUP_AGE_IDENTITY_FILE";

/** age-keygen writes about 190 bytes per key; anything this large is the wrong file. */
const MAX_IDENTITY_FILE_BYTES = 1 << 20;

const X25519_IDENTITY_PREFIX = "AGE-SECRET-KEY-1";

/**
 * An age X25519 recipient: "age1" and 58 lower-case bech32 characters (32 bytes and a checksum).
 * The checksum is checked by the library; the shape check rejects post-quantum and tag
 * recipients, which Debian's age 1.1.1 cannot decrypt.
 */
const X25519_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

/**
 * Reads the identities (secret keys) of an age identity file. Every other non-comment line is
 * refused rather than skipped: a typo in a key would otherwise surface only at restore time, as
 * "no identity matches". Messages name line numbers, never the lines: they may hold secrets.
 */
export async function readIdentityFile(path: string): Promise<string[]> {
  const refuse = (state: string, cause?: unknown) =>
    new UsageError(`Cannot read identity file "${path}": ${state} (${IDENTITY_HINT})`, { cause });
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw refuse("it is a directory");
    if (info.size > MAX_IDENTITY_FILE_BYTES) throw refuse("it is too large to be an identity file");
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (error instanceof Deno.errors.NotFound) throw refuse("it does not exist", error);
    if (error instanceof Deno.errors.PermissionDenied) throw refuse("permission denied", error);
    throw refuse(messageOf(error), error);
  }
  const identities: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!line.startsWith(X25519_IDENTITY_PREFIX) || !await isIdentity(line)) {
      throw refuse(`line ${i + 1} is not an age X25519 identity (${X25519_IDENTITY_PREFIX}…)`);
    }
    identities.push(line);
  }
  if (identities.length === 0) throw refuse(`it holds no ${X25519_IDENTITY_PREFIX}… line`);
  return identities;
}

/**
 * Checks recipients given in a setting or flag and returns them trimmed, without duplicates.
 * An empty list is refused: the library would silently encrypt for nobody. A value that looks
 * like a secret key is never echoed, since the message may end up in logs.
 */
export function parseRecipients(values: string[], source: string): string[] {
  const hint = "give age public keys, as printed by age-keygen or age-keygen -y";
  if (values.length === 0) {
    throw new UsageError(`Invalid ${source}: it lists no recipient (${hint})`);
  }
  const recipients: string[] = [];
  values.forEach((raw, index) => {
    const value = raw.trim();
    // Identities (AGE-SECRET-KEY-1…, AGE-PLUGIN-…) are upper case; recipients are lower case.
    if (value.toUpperCase().startsWith("AGE-")) {
      throw new UsageError(
        `Invalid ${source}: entry ${
          index + 1
        } is an age secret key, not a recipient (give its public key, from age-keygen -y, and keep the secret key out of the configuration)`,
      );
    }
    if (!X25519_RECIPIENT.test(value) || !isRecipient(value)) {
      throw new UsageError(
        `Invalid ${source}: "${shorten(value)}" is not an age X25519 recipient (${hint})`,
      );
    }
    if (!recipients.includes(value)) recipients.push(value);
  });
  return recipients;
}

/**
 * A short, stable name for a recipient, stored in the sidecar so a restore can say which key a
 * backup needs. A hash rather than the key itself: the sidecar should not tell who can read it.
 */
export function recipientFingerprint(recipient: string): string {
  return "sha256:" + createHash("sha256").update(recipient).digest("hex").slice(0, 16);
}

/** The fingerprints of the recipients that `identities` decrypt for, in the same order. */
export async function identityFingerprints(identities: string[]): Promise<string[]> {
  const fingerprints: string[] = [];
  for (const [index, identity] of identities.entries()) {
    let recipient: string;
    try {
      recipient = await identityToRecipient(identity);
    } catch {
      // No cause: the bech32 decoder's messages quote the whole key.
      throw new UsageError(
        `Cannot use identity ${index + 1}: it is not an age X25519 identity (${IDENTITY_HINT})`,
      );
    }
    fingerprints.push(recipientFingerprint(recipient));
  }
  return fingerprints;
}

async function isIdentity(line: string): Promise<boolean> {
  try {
    await identityToRecipient(line);
    return true;
  } catch {
    return false;
  }
}

/** Checks the bech32 checksum and length (the regular expression only checks the shape). */
function isRecipient(value: string): boolean {
  try {
    new Encrypter().addRecipient(value);
    return true;
  } catch {
    return false;
  }
}

/** A value for a message, cut short: a pasted key file should not flood the terminal. */
function shorten(value: string): string {
  return value.length > 70 ? value.slice(0, 67) + "…" : value;
}
