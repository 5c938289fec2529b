/**
 * Signed sidecars (Ed25519, `node:crypto`). A sidecar's self-checksum only catches accidents:
 * whoever can write to the store can rewrite the sidecar and its checksum together, and an age
 * recipient is public, so anyone can make a backup "for" us. A signature by a key that only the
 * backup host holds is what tells our backups from forged ones. The signature covers the data
 * file's SHA-256 and size (they are in the sidecar), so it vouches for the data too.
 *
 * What is signed is the sidecar's immutable part, as canonical JSON: everything except the
 * signature, the self-checksum, and what `verify` and `pin` rewrite later (`verification`,
 * `pinned`, `pinnedAt`, `pinReason`). Those run on hosts that hold only public keys (a restore
 * host verifies, an operator pins), so they keep the signature instead of re-signing. Whoever can
 * write to the store can change them (it can delete backups anyway); `restore` and `verify` never
 * trust a recorded verification.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { IntegrityError, messageOf, UsageError } from "./errors.ts";
import { Buffer } from "node:buffer";

/** A backup's signature, as the sidecar records it: which key, and the signature in base64. */
export interface SidecarSignature {
  /** {@linkcode keyIdOf} the signing key's public half. */
  keyId: string;
  /** The Ed25519 signature of {@linkcode signedContent}, base64. */
  value: string;
}

/** A public key backups may be signed by. */
export interface TrustedKey {
  keyId: string;
  key: KeyObject;
}

/** Who signs new backups, and whose signatures `restore`, `verify` and `copy` require. */
export interface SigningSettings {
  /** The private key that signs every new sidecar (`signing.key`); absent: backups are unsigned. */
  key?: KeyObject;
  /**
   * Keys a backup must be signed by to be restored, verified or copied (`signing.trusted`);
   * empty: signatures are not required (and not checked).
   */
  trusted: TrustedKey[];
}

/** A backup whose signature is missing, foreign or wrong where signatures are required. */
export class SignatureError extends IntegrityError {}

/** Fields rewritten after a backup is made (verify, pin): not covered by the signature. */
const MUTABLE_FIELDS = new Set([
  "signature",
  "sidecarSha256",
  "verification",
  "pinned",
  "pinnedAt",
  "pinReason",
]);

/** Domain separation: these bytes are a sidecar of ours, not anything else the key might sign. */
const CONTEXT = "backup-manager sidecar signature v1\n";

/**
 * The bytes a sidecar's signature covers: a context line, then the sidecar without its mutable
 * fields as JSON with sorted keys, so key order and whitespace do not matter.
 */
export function signedContent(meta: object): Uint8Array {
  const fields = Object.entries(JSON.parse(JSON.stringify(meta)) as Record<string, unknown>)
    .filter(([key]) => !MUTABLE_FIELDS.has(key));
  return new TextEncoder().encode(CONTEXT + canonicalJson(Object.fromEntries(fields)));
}

/** JSON with every object's keys sorted (values as `JSON.parse` returns them). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Signs a sidecar (its {@linkcode signedContent}) with `key`. */
export function signMeta(meta: object, key: KeyObject): SidecarSignature {
  return {
    keyId: keyIdOf(createPublicKey(key)),
    value: sign(null, signedContent(meta), key).toString("base64"),
  };
}

/**
 * The fingerprint that names a public key in sidecars and messages: `SHA256:` and the base64 of
 * the SHA-256 of its 32 raw bytes (as `ssh-keygen -l` writes them). Never the key itself.
 */
export function keyIdOf(publicKey: KeyObject): string {
  return "SHA256:" + createHash("sha256").update(rawPublicKey(publicKey)).digest("base64")
    .replace(/=+$/, "");
}

/** The 32 bytes of an Ed25519 public key. */
function rawPublicKey(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: "jwk" });
  return new Uint8Array(Buffer.from(jwk.x ?? "", "base64url"));
}

/** A public key as one line for settings: `ed25519:` and the base64 of its 32 raw bytes. */
export function formatPublicKey(publicKey: KeyObject): string {
  return "ed25519:" + Buffer.from(rawPublicKey(publicKey)).toString("base64");
}

/**
 * Parses one trusted key: `ed25519:<base64 of 32 bytes>` or a PEM public key (SPKI). A private
 * key is refused: it does not belong in a list others read.
 */
export function parsePublicKey(text: string, setting: string): TrustedKey {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    const short = /^ed25519:([A-Za-z0-9+/]{43}=?)$/.exec(trimmed);
    if (short) {
      const x = Buffer.from(short[1], "base64");
      if (x.length !== 32) throw new Error("not 32 bytes");
      key = createPublicKey({
        key: { kty: "OKP", crv: "Ed25519", x: x.toString("base64url") },
        format: "jwk",
      });
    } else if (/^-----BEGIN PUBLIC KEY-----/.test(trimmed)) {
      key = createPublicKey(trimmed);
    } else throw new Error("unknown form");
  } catch {
    throw new UsageError(
      `Invalid value for ${setting}: expected an Ed25519 public key, "ed25519:<base64>" or PEM (see the keygen command)`,
    );
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new UsageError(
      `Invalid value for ${setting}: expected an Ed25519 key, not ${key.asymmetricKeyType}`,
    );
  }
  return { keyId: keyIdOf(key), key };
}

/**
 * Reads the private signing key (PEM, PKCS#8) from `path`. Errors name the file, never its
 * content.
 */
export function readSigningKey(path: string, setting = "signing.key"): KeyObject {
  let pem: string;
  try {
    pem = Deno.readTextFileSync(path);
  } catch (error) {
    throw new UsageError(
      `Cannot read the signing key "${path}" (${setting}): ${
        error instanceof Deno.errors.NotFound ? "no such file" : messageOf(error).split(":")[0]
      }; make one with the keygen command`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new UsageError(
      `Cannot read the signing key "${path}" (${setting}): not a PEM private key; make one with the keygen command`,
    );
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new UsageError(
      `Cannot use the signing key "${path}" (${setting}): it is ${key.asymmetricKeyType}, expected Ed25519`,
    );
  }
  return key;
}

/** The settings' `signing` section made usable: the key read, the trusted keys parsed. */
export function signingSettings(config: { key?: string; trusted: string[] }): SigningSettings {
  return {
    ...(config.key ? { key: readSigningKey(config.key) } : {}),
    trusted: config.trusted.map((text, i) => parsePublicKey(text, `signing.trusted[${i}]`)),
  };
}

/** How a backup is signed, for `list` and `status`: by which key, or not at all. */
export function signatureOf(meta: { signature?: SidecarSignature }): string | undefined {
  return meta.signature?.keyId;
}

/**
 * Refuses (a {@linkcode SignatureError}, exit 5) a backup that `trusted` does not vouch for:
 * unsigned, signed by a key not in the list, or with a signature that does not match its sidecar
 * (edited, or forged with a copied key id). With no trusted keys, every backup passes. Returns
 * the trusted key id that signed it, if checked.
 */
export function checkSignature(
  meta: { id: string; signature?: SidecarSignature },
  trusted: TrustedKey[],
  action: string,
): string | undefined {
  if (trusted.length === 0) return undefined;
  const signature = meta.signature;
  if (!signature) {
    throw new SignatureError(
      `Cannot ${action} backup "${meta.id}": it is not signed, and signing.trusted requires a signature (sign new backups with signing.key; use a signed backup)`,
    );
  }
  const keys = trusted.filter((t) => t.keyId === signature.keyId);
  if (keys.length === 0) {
    throw new SignatureError(
      `Cannot ${action} backup "${meta.id}": it is signed by key "${signature.keyId}", which is not in signing.trusted (add its public key there if you trust it; use another backup)`,
    );
  }
  const content = signedContent(meta);
  const value = Buffer.from(signature.value, "base64");
  if (!keys.some((t) => verify(null, content, t.key, value))) {
    throw new SignatureError(
      `Cannot ${action} backup "${meta.id}": its signature does not match its sidecar (edited or forged); use another backup`,
    );
  }
  return signature.keyId;
}
