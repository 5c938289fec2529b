import { createHash } from "node:crypto";
import { z } from "npm:zod@4.6.7";
import { IntegrityError } from "./errors.ts";
import { type Compression, COMPRESSION_FORMATS, sqlSuffix } from "./compression.ts";

/** Kinds of backup. `pre-restore` is the safety copy taken before a restore replaces a database. */
export const BACKUP_TYPES = ["full", "schema", "pre-restore"] as const;
/** One of {@linkcode BACKUP_TYPES}. */
export type BackupType = typeof BACKUP_TYPES[number];

/** Version of the sidecar layout; bumped when a reader would misread a newer file. */
export const FORMAT_VERSION = 1;
/** Name and version of this tool, recorded in every sidecar. */
export const TOOL = { name: "backup-manager", version: "0.1.0" } as const;

/** Suffix appended to an encrypted backup's data file: `<id>.sql.gz.age`, `<id>.sql.zst.age`. */
export const ENCRYPTED_SUFFIX = ".age";
/** Suffix of the sidecar; a backup exists when its sidecar does. */
export const META_SUFFIX = ".meta.json";

const ID_PATTERN = /^(full|schema|pre-restore)_(\d{8}T\d{9}Z)$/;

/** `<type>_<UTC yyyymmddThhmmssSSSZ>`: sorts by time, safe on every filesystem. */
export function backupId(type: BackupType, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(".", "");
  return `${type}_${stamp}`;
}

/** Type and creation time encoded in an id, or `undefined` if it is not one of ours. */
export function parseBackupId(id: string): { type: BackupType; createdAt: Date } | undefined {
  const match = ID_PATTERN.exec(id);
  if (!match) return undefined;
  const s = match[2];
  const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:` +
    `${s.slice(11, 13)}:${s.slice(13, 15)}.${s.slice(15, 18)}Z`;
  const createdAt = new Date(iso);
  if (Number.isNaN(createdAt.getTime())) return undefined;
  return { type: match[1] as BackupType, createdAt };
}

/**
 * Storage key of a backup's SQL: `<id>.sql.gz` (the default), `<id>.sql.zst`, or `<id>.sql` when
 * not compressed.
 */
export function dataKey(id: string, compression: Compression = "gzip"): string {
  return id + sqlSuffix(compression);
}

/** Storage key of an encrypted backup's data: the {@linkcode dataKey} with `.age` appended. */
export function encryptedDataKey(id: string, compression: Compression = "gzip"): string {
  return dataKey(id, compression) + ENCRYPTED_SUFFIX;
}

/**
 * Every key a backup's data may have (each compression, plain or encrypted): cleanup removes
 * whichever exists.
 */
export function dataKeys(id: string): string[] {
  return COMPRESSION_FORMATS.flatMap((
    format,
  ) => [dataKey(id, format), encryptedDataKey(id, format)]);
}

/** Data file suffixes, longest first, so `.sql.gz.age` is not read as `.sql.gz` or `.sql`. */
const DATA_SUFFIXES = COMPRESSION_FORMATS
  .flatMap((format) => [sqlSuffix(format) + ENCRYPTED_SUFFIX, sqlSuffix(format)])
  .sort((a, b) => b.length - a.length);

/** The backup id a data file belongs to, or `undefined` when the key is not a data file. */
export function idOfDataKey(key: string): string | undefined {
  for (const suffix of DATA_SUFFIXES) {
    if (key.endsWith(suffix)) return key.slice(0, -suffix.length);
  }
  return undefined;
}

/** Storage key of a backup's sidecar. */
export function metaKey(id: string): string {
  return id + META_SUFFIX;
}

const isoDate = z.iso.datetime();
const count = z.number().int().nonnegative();

/** Kinds of {@linkcode BackupMeta.parts}: a database of a server backup, or the files beside. */
export const PART_KINDS = ["database", "files"] as const;
/** One of {@linkcode PART_KINDS}. */
export type PartKind = typeof PART_KINDS[number];

/** One stored file of a backup: its key, compression, checksum and encryption. */
const StoredFileSchema = z.object({
  name: z.string(),
  /** How the stream is compressed; sidecars written before zstd existed say `gzip`, or nothing. */
  compression: z.enum(COMPRESSION_FORMATS as [Compression, ...Compression[]]).default("gzip"),
  /** The level it was compressed at (gzip 1-9, zstd 1-19); absent for `none` and old sidecars. */
  compressionLevel: count.optional(),
  /** SHA-256 of the stored bytes (the ciphertext when encrypted). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Present when the file was encrypted for public keys: which keys, never a key. */
  encryption: z.object({
    format: z.literal("age"),
    recipients: z.array(z.string()).min(1),
  }).optional(),
});
/** A stored file as the sidecar describes it. */
export type StoredFile = z.infer<typeof StoredFileSchema>;

/** The sidecar, validated on every read: a backup with an invalid sidecar is never "good". */
export const BackupMetaSchema = z.object({
  formatVersion: z.literal(FORMAT_VERSION),
  id: z.string().regex(ID_PATTERN),
  type: z.enum(BACKUP_TYPES),
  engine: z.enum(["sqlite", "postgres"]),
  description: z.string().optional(),
  database: z.object({
    name: z.string(),
    host: z.string().optional(),
    path: z.string().optional(),
  }),
  createdAt: isoDate,
  finishedAt: isoDate,
  durationMs: count,
  tool: z.object({ name: z.string(), version: z.string() }),
  engineVersion: z.string(),
  runtime: z.string(),
  settings: z.record(z.string(), z.union([z.string(), z.number()])),
  tables: z.array(z.object({ name: z.string(), rows: count, bytes: count })),
  totals: z.object({ tables: count, rows: count }),
  /** `compressed` is the size of the stored data file: after encryption when encrypted. */
  sizes: z.object({ raw: count, compressed: count }),
  /**
   * Present when this is a whole server's backup (`create --all-databases`): its main file is the
   * server's globals (roles, memberships, tablespaces, settings) and each database is a part.
   */
  server: z.object({
    /** The databases it holds, in part order. */
    databases: z.array(z.string()),
    /**
     * Whether the globals hold the roles' password hashes (sensitive: whoever reads the file can
     * try them offline); `false` after `--no-role-passwords`.
     */
    rolePasswords: z.boolean(),
  }).optional(),
  /** The main data file: the SQL of the database (of a server backup: its globals, the roles). */
  file: StoredFileSchema,
  /**
   * Further files of the same backup, each its own stream with its own checksum: one per database
   * of a server backup (`create --all-databases`), and the tar of the files kept beside the
   * database (`files`). Absent: the backup is its main file alone. Every operation that handles a
   * backup's data (verify, copy, cleanup, restore) handles each part; see {@linkcode storedFiles}.
   */
  parts: z.array(z.object({
    kind: z.enum(PART_KINDS),
    /** The database's name (`database`), or `files`. */
    name: z.string().min(1),
    file: StoredFileSchema,
    /** Of this part's stream: raw before compression, compressed as stored. */
    sizes: z.object({ raw: count, compressed: count }),
    tables: z.array(z.object({ name: z.string(), rows: count, bytes: count })).optional(),
    totals: z.object({ tables: count, rows: count }).optional(),
    migration: z.object({ table: z.string(), version: z.string() }).optional(),
    features: z.array(z.string()).optional(),
    /** `files`: how many entries (files, directories, links) the tar holds. */
    entries: count.optional(),
    /**
     * `files`: the absolute directory the tar's names are relative to, where `restore --files`
     * puts them back (unless `--to DIR`).
     */
    root: z.string().optional(),
  })).optional(),
  migration: z.object({ table: z.string(), version: z.string() }).optional(),
  /**
   * What the backup needs of the library that loads it (SQLite: the features its schema uses,
   * such as `strict`; see `engines/version_check.ts`). Absent: nothing recorded (older backups).
   */
  features: z.array(z.string()).optional(),
  verification: z.object({
    verifiedAt: isoDate,
    outcome: z.enum(["passed", "failed"]),
    restoreTest: z.boolean(),
    detail: z.string(),
  }).optional(),
  /** Pinned backups are never deleted by a retention policy (`pin`, `unpin`, `create --pin`). */
  pinned: z.boolean().optional(),
  pinnedAt: isoDate.optional(),
  pinReason: z.string().optional(),
  /**
   * Ed25519 signature of the sidecar's immutable part, by the key `signing.key` names, when one
   * is set (`signing.ts` says what is covered and why): a store others can write to cannot hand
   * us a forged backup once `signing.trusted` is set.
   */
  signature: z.object({
    keyId: z.string(),
    value: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/),
  }).optional(),
  /** SHA-256 of this JSON without this field: an edited sidecar fails verification. */
  sidecarSha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** A parsed, schema-checked sidecar. */
export type BackupMeta = z.infer<typeof BackupMetaSchema>;
/** A sidecar before its self-checksum is computed. */
export type UnsealedMeta = Omit<BackupMeta, "sidecarSha256">;

/** Renders a sidecar as JSON with its self-checksum. */
export function serializeMeta(meta: UnsealedMeta): Uint8Array {
  const { sidecarSha256: _ignored, ...rest } = meta as BackupMeta;
  const sealed = { ...rest, sidecarSha256: sha256Hex(JSON.stringify(rest)) };
  return new TextEncoder().encode(JSON.stringify(sealed, null, 2) + "\n");
}

/**
 * Parses and checks a sidecar: JSON, schema, self-checksum, and that it names the file `id`.
 * Every failure is an {@linkcode IntegrityError} saying what is wrong.
 */
export function parseMeta(bytes: Uint8Array, id: string): BackupMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new IntegrityError(`Backup "${id}" has a sidecar that is not valid JSON`);
  }
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === "number" && version > FORMAT_VERSION) {
    throw new IntegrityError(
      `Backup "${id}" was made by a newer backup-manager (format ${version}, this one reads ${FORMAT_VERSION}): upgrade backup-manager to use it`,
    );
  }
  const parsed = BackupMetaSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IntegrityError(
      `Backup "${id}" has an invalid sidecar: field "${issue.path.join(".")}": ${issue.message}`,
    );
  }
  const { sidecarSha256, ...rest } = raw as Record<string, unknown>;
  if (sha256Hex(JSON.stringify(rest)) !== sidecarSha256) {
    throw new IntegrityError(
      `Backup "${id}" has a sidecar that was edited after it was written (its self-checksum does not match)`,
    );
  }
  const file = parsed.data.file;
  const expectedName = file.encryption
    ? encryptedDataKey(id, file.compression)
    : dataKey(id, file.compression);
  if (parsed.data.id !== id || file.name !== expectedName) {
    throw new IntegrityError(`Backup "${id}" has a sidecar that describes another backup`);
  }
  for (const part of parsed.data.parts ?? []) {
    if (idOfKey(part.file.name) !== id || part.file.name === file.name) {
      throw new IntegrityError(
        `Backup "${id}" has a sidecar whose part "${part.name}" names another backup's file`,
      );
    }
  }
  return parsed.data;
}

/** A file of a backup: the main data file or one of its parts, with its recorded size. */
export interface BackupFileEntry {
  /** `undefined` for the main file. */
  part?: NonNullable<BackupMeta["parts"]>[number];
  file: StoredFile;
  /** Stored (compressed, encrypted) size in bytes. */
  size: number;
}

/**
 * Every data file of a backup, main file first, then its parts in sidecar order: what verify
 * checks, copy copies and cleanup removes.
 */
export function storedFiles(meta: BackupMeta): BackupFileEntry[] {
  return [
    { file: meta.file, size: meta.sizes.compressed },
    ...(meta.parts ?? []).map((part) => ({ part, file: part.file, size: part.sizes.compressed })),
  ];
}

/**
 * Storage key of a part: `<id>.db-<name><suffix>` for a database (its name with anything but
 * letters, digits, `_` and `-` as `%XX`, so every name is safe on every filesystem), and
 * `<id>.files<suffix>` for the files beside. `suffix` is the stream's: `.sql.gz`, `.tar.gz`, …
 * with `.age` when encrypted.
 */
export function partKey(id: string, kind: PartKind, name: string, suffix: string): string {
  if (kind === "files") return `${id}.files${suffix}`;
  const safe = [...new TextEncoder().encode(name)].map((b) =>
    /[A-Za-z0-9_-]/.test(String.fromCharCode(b)) && b < 128
      ? String.fromCharCode(b)
      : "%" + b.toString(16).toUpperCase().padStart(2, "0")
  ).join("");
  return `${id}.db-${safe}${suffix}`;
}

/**
 * The backup id any key of a backup belongs to (data file, part, sidecar, partial), or
 * `undefined` when it is not one of ours: ids hold no dot, every key is `<id>.<something>`.
 */
export function idOfKey(key: string): string | undefined {
  const base = key.split("/").pop() ?? key;
  const id = base.split(".")[0];
  return ID_PATTERN.test(id) && base.length > id.length ? id : undefined;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
