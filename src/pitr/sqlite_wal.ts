/**
 * SQLite's write-ahead log, read as SQLite itself reads it (https://www.sqlite.org/fileformat.html,
 * "The Write-Ahead Log"): a 32-byte header (magic, version, page size, checkpoint sequence, two
 * salts, a checksum of the header), then frames of a 24-byte header (page number, the database's
 * size in pages after a commit frame, the salts, a cumulative checksum) and one page. A frame is
 * valid only when its salts are the header's and its checksum continues the chain; the log ends
 * at the first frame that is not, and only frames up to the last valid commit frame are part of
 * the database. The foundation of point-in-time recovery (issue 13): a replicator ships exactly
 * the committed frames and notices a log that was reset (other salts, another checkpoint
 * sequence), and a restore applies them. Pure functions on bytes.
 */

/** Bytes of the WAL header. */
export const WAL_HEADER_BYTES = 32;
/** Bytes of a frame header. */
export const FRAME_HEADER_BYTES = 24;

const MAGIC_LITTLE = 0x377f0682;
const MAGIC_BIG = 0x377f0683;
const VERSION = 3007000;

/** A WAL that is not one: what is wrong, in one line. */
export class WalFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WalFormatError";
  }
}

/** The WAL header's fields. */
export interface WalHeader {
  /** Checksums are computed on big-endian words (magic `0x377f0683`), else little-endian. */
  bigEndian: boolean;
  pageSize: number;
  /** Incremented by every checkpoint that restarts the log. */
  checkpointSequence: number;
  salt1: number;
  salt2: number;
  /** The checksum of the header's first 24 bytes: where the frames' chain starts. */
  checksum: readonly [number, number];
}

/** One valid frame. */
export interface WalFrame {
  /** 0-based position in the log. */
  index: number;
  /** Byte offset of the frame header in the WAL file. */
  offset: number;
  pageNumber: number;
  /** For a commit frame, the database's size in pages after the commit; 0 otherwise. */
  commitSize: number;
  /** The cumulative checksum after this frame (the next frame continues from it). */
  checksum: readonly [number, number];
}

/** Parses and checks the header at the start of `bytes`. */
export function parseWalHeader(bytes: Uint8Array): WalHeader {
  if (bytes.length < WAL_HEADER_BYTES) {
    throw new WalFormatError(`the WAL is ${bytes.length} bytes, shorter than its 32-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, WAL_HEADER_BYTES);
  const magic = view.getUint32(0);
  if (magic !== MAGIC_LITTLE && magic !== MAGIC_BIG) {
    throw new WalFormatError(`the WAL's magic number is 0x${magic.toString(16)}, not SQLite's`);
  }
  const version = view.getUint32(4);
  if (version !== VERSION) throw new WalFormatError(`the WAL's format version is ${version}`);
  const pageSize = view.getUint32(8);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new WalFormatError(`the WAL's page size ${pageSize} is not a power of two 512-65536`);
  }
  const bigEndian = magic === MAGIC_BIG;
  const checksum = walChecksum(bytes.subarray(0, 24), [0, 0], bigEndian);
  if (checksum[0] !== view.getUint32(24) || checksum[1] !== view.getUint32(28)) {
    throw new WalFormatError("the WAL header's checksum does not match");
  }
  return {
    bigEndian,
    pageSize,
    checkpointSequence: view.getUint32(12),
    salt1: view.getUint32(16),
    salt2: view.getUint32(20),
    checksum,
  };
}

/**
 * SQLite's WAL checksum of `data` (a multiple of 8 bytes) continuing from `start`: for each pair
 * of 32-bit words `x0, x1`, `s0 += x0 + s1; s1 += x1 + s0`, modulo 2^32.
 */
export function walChecksum(
  data: Uint8Array,
  start: readonly [number, number],
  bigEndian: boolean,
): [number, number] {
  if (data.length % 8 !== 0) throw new RangeError("the checksummed bytes are not 8-byte words");
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let s0 = start[0];
  let s1 = start[1];
  for (let i = 0; i < data.length; i += 8) {
    s0 = (s0 + view.getUint32(i, !bigEndian) + s1) >>> 0;
    s1 = (s1 + view.getUint32(i + 4, !bigEndian) + s0) >>> 0;
  }
  return [s0, s1];
}

/**
 * Checks the frame at `offset` of `bytes` against the header and the chain so far (`previous`:
 * the header's checksum for the first frame); `undefined` when it is not a valid frame (salts of
 * another generation of the log, a checksum that breaks the chain, cut short): the log's end.
 */
export function readFrame(
  bytes: Uint8Array,
  offset: number,
  index: number,
  header: WalHeader,
  previous: readonly [number, number],
): WalFrame | undefined {
  const end = offset + FRAME_HEADER_BYTES + header.pageSize;
  if (end > bytes.length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, FRAME_HEADER_BYTES);
  if (view.getUint32(8) !== header.salt1 || view.getUint32(12) !== header.salt2) return undefined;
  const pageNumber = view.getUint32(0);
  if (pageNumber === 0) return undefined;
  let checksum = walChecksum(bytes.subarray(offset, offset + 8), previous, header.bigEndian);
  checksum = walChecksum(
    bytes.subarray(offset + FRAME_HEADER_BYTES, end),
    checksum,
    header.bigEndian,
  );
  if (checksum[0] !== view.getUint32(16) || checksum[1] !== view.getUint32(20)) return undefined;
  return { index, offset, pageNumber, commitSize: view.getUint32(4), checksum };
}

/** What a WAL file holds that counts. */
export interface WalContents {
  header: WalHeader;
  /** Every valid frame, in order (those after the last commit included: not yet committed). */
  frames: WalFrame[];
  /** How many of `frames` are committed: up to and including the last commit frame. */
  committed: number;
}

/** Reads the valid frames of a whole WAL file. */
export function readWal(bytes: Uint8Array): WalContents {
  const header = parseWalHeader(bytes);
  const frames: WalFrame[] = [];
  let committed = 0;
  let previous = header.checksum;
  for (
    let offset = WAL_HEADER_BYTES;;
    offset += FRAME_HEADER_BYTES + header.pageSize
  ) {
    const frame = readFrame(bytes, offset, frames.length, header, previous);
    if (!frame) break;
    frames.push(frame);
    previous = frame.checksum;
    if (frame.commitSize !== 0) committed = frames.length;
  }
  return { header, frames, committed };
}

/** The page of `frame` in `bytes` (the WAL file's). */
export function framePage(bytes: Uint8Array, frame: WalFrame, header: WalHeader): Uint8Array {
  const start = frame.offset + FRAME_HEADER_BYTES;
  return bytes.subarray(start, start + header.pageSize);
}

/**
 * The database as of the commit that ends at frame `upTo` (exclusive count of frames): `base` (the
 * database file the log applies to, e.g. a snapshot taken right after a checkpoint) with each
 * frame's page written in order, then cut to the commit frame's size. A new array; `base` is
 * left as it is. `upTo` must end at a commit frame.
 */
export function applyFrames(
  base: Uint8Array,
  wal: Uint8Array,
  contents: WalContents,
  upTo: number = contents.committed,
): Uint8Array {
  const last = contents.frames[upTo - 1];
  if (upTo > 0 && (!last || last.commitSize === 0)) {
    throw new RangeError(`frame ${upTo} of the WAL is not a commit frame`);
  }
  if (upTo === 0) return base.slice();
  const { pageSize } = contents.header;
  const size = last.commitSize * pageSize;
  const out = new Uint8Array(size);
  out.set(base.subarray(0, Math.min(base.length, size)));
  for (const frame of contents.frames.slice(0, upTo)) {
    const at = (frame.pageNumber - 1) * pageSize;
    if (at + pageSize <= size) out.set(framePage(wal, frame, contents.header), at);
  }
  return out;
}
