/**
 * PostgreSQL's WAL file names by tables: what each archive name is (segments, timeline
 * histories, backup labels, partials; anything else, lowercase hex included, is not one), the
 * segment numbers behind the names at 1 MiB, 16 MiB and 1 GiB segments (the "log" rolls over),
 * LSNs and the segment holding them, the gaps in a chain, and which file stands for each segment
 * number when timelines and partials overlap.
 */
import assert from "node:assert/strict";
import {
  chainGaps,
  parseLsn,
  parseWalFileName,
  segmentName,
  segmentNumber,
  segmentOfLsn,
  segmentsByNumber,
  type WalFileName,
  type WalGap,
} from "../../src/pitr/pg_wal_names.ts";

const MiB = 1024 * 1024;
const SIZE = 16 * MiB;

/** Segment `number` of `timeline` at 16 MiB. */
const seg = (timeline: number, number: number) => segmentName(timeline, number, SIZE);

Deno.test("parseWalFileName() reads segments, histories, backup labels and partials", () => {
  const cases: [string, WalFileName][] = [
    ["000000010000000000000003", {
      name: "000000010000000000000003",
      kind: "segment",
      timeline: 1,
      log: 0,
      seg: 3,
    }],
    ["0000000A000000FF000000FE", {
      name: "0000000A000000FF000000FE",
      kind: "segment",
      timeline: 10,
      log: 255,
      seg: 254,
    }],
    ["00000002.history", { name: "00000002.history", kind: "history", timeline: 2 }],
    ["0000001F.history", { name: "0000001F.history", kind: "history", timeline: 31 }],
    ["000000010000000000000003.00000028.backup", {
      name: "000000010000000000000003.00000028.backup",
      kind: "backup",
      timeline: 1,
      log: 0,
      seg: 3,
    }],
    ["0000000200000016000000B3.partial", {
      name: "0000000200000016000000B3.partial",
      kind: "partial",
      timeline: 2,
      log: 0x16,
      seg: 0xB3,
    }],
  ];
  for (const [name, expected] of cases) assert.deepEqual(parseWalFileName(name), expected, name);
});

Deno.test("parseWalFileName() refuses what the archiver never sends, lowercase hex included", () => {
  const junk = [
    "",
    "RECOVERYXLOG",
    "RECOVERYHISTORY",
    "archive_status",
    "00000001000000000000003", // 23 digits
    "0000000100000000000000030", // 25
    " 000000010000000000000003",
    "000000010000000000000003\n",
    "../000000010000000000000003",
    "pg_wal/000000010000000000000003",
    "000000010000000000000003.gz",
    "000000010000000000000003.json",
    "00000002.history.gz",
    "0000002.history",
    "00000002.HISTORY",
    "000000010000000000000003.0000028.backup", // offset of 7 digits
    "000000010000000000000003.00000028.backup.partial",
    "000000010000000000000003.00000028",
    "000000010000000000000003.partial.gz",
    "G00000010000000000000003",
    // lowercase: the server writes uppercase hex only
    "00000001000000000000000a",
    "0000000a0000000000000001",
    "0000000a.history",
    "000000010000000000000003.0000002b.backup",
    "00000001000000000000000a.partial",
  ];
  for (const name of junk) assert.equal(parseWalFileName(name), undefined, JSON.stringify(name));
});

Deno.test("segmentNumber() and segmentName() agree at 1 MiB, 16 MiB and 1 GiB segments, across log rollover", () => {
  const cases: { size: number; number: number; name: string }[] = [
    // 16 MiB: 256 segments a log, seg 0xFF is the last of one; the next starts log 1
    { size: SIZE, number: 0, name: "000000010000000000000000" },
    { size: SIZE, number: 3, name: "000000010000000000000003" },
    { size: SIZE, number: 0xFF, name: "0000000100000000000000FF" },
    { size: SIZE, number: 0x100, name: "000000010000000100000000" },
    { size: SIZE, number: 0x101, name: "000000010000000100000001" },
    { size: SIZE, number: 0x16 * 256 + 0xB3, name: "0000000100000016000000B3" },
    // 1 MiB: 4096 a log
    { size: MiB, number: 0xFFF, name: "000000010000000000000FFF" },
    { size: MiB, number: 0x1000, name: "000000010000000100000000" },
    { size: MiB, number: 0x2A * 4096 + 0x123, name: "000000010000002A00000123" },
    // 1 GiB: 4 a log
    { size: 1024 * MiB, number: 3, name: "000000010000000000000003" },
    { size: 1024 * MiB, number: 4, name: "000000010000000100000000" },
    { size: 1024 * MiB, number: 4 * 0x16 + 2, name: "000000010000001600000002" },
  ];
  for (const { size, number, name } of cases) {
    const label = `${number} at ${size / MiB} MiB`;
    assert.equal(segmentName(1, number, size), name, label);
    const parsed = parseWalFileName(name)!;
    assert.equal(parsed.kind, "segment", label);
    assert.equal(segmentNumber(parsed, size), number, label);
  }
  // the timeline is only the prefix: the same number on timeline 0x2F
  assert.equal(segmentName(0x2F, 0x100, SIZE), "0000002F0000000100000000");
  // every number of the first two logs round-trips at 16 MiB
  for (let n = 0; n < 512; n++) {
    assert.equal(segmentNumber(parseWalFileName(segmentName(3, n, SIZE))!, SIZE), n);
  }
});

Deno.test("parseLsn() reads WAL positions and refuses anything else; segmentOfLsn() finds their segment", () => {
  const cases: [string, number][] = [
    ["0/0", 0],
    ["0/3000028", 0x3000028],
    ["0/3000100", 0x3000100],
    ["16/B374D848", 0x16 * 2 ** 32 + 0xB374D848],
    ["16/b374d848", 0x16 * 2 ** 32 + 0xB374D848],
    [" 1/0\n", 2 ** 32],
    ["1FFFFF/FFFFFFFF", 2 ** 53 - 1], // the largest exact: 8 PiB of WAL
  ];
  for (const [text, bytes] of cases) assert.equal(parseLsn(text), bytes, JSON.stringify(text));

  for (
    const bad of ["", "0", "0/", "/3000028", "0-3000028", "G/1", "0/123456789", "1/2/3", "0x0/1"]
  ) {
    assert.throws(() => parseLsn(bad), /is not a WAL position \(expected like 0\/3000028\)/, bad);
  }

  const segments: [string, number, number][] = [
    ["0/3000028", SIZE, 3],
    ["0/2FFFFFF", SIZE, 2], // the last byte of segment 2
    ["0/3000000", SIZE, 3], // the first of 3
    ["16/B374D848", SIZE, 0x16 * 256 + 0xB3],
    ["0/3000028", MiB, 0x30],
    ["16/B374D848", MiB, 0x16 * 4096 + 0xB37],
    ["16/B374D848", 1024 * MiB, 0x16 * 4 + 2],
  ];
  for (const [lsn, size, number] of segments) {
    assert.equal(segmentOfLsn(parseLsn(lsn), size), number, `${lsn} at ${size / MiB} MiB`);
  }
  // the segment of an LSN is named as the server names it
  assert.equal(seg(1, segmentOfLsn(parseLsn("16/B374D848"), SIZE)), "0000000100000016000000B3");
});

/** `byNumber` from segment names (16 MiB). */
function chain(names: string[]): Map<number, string> {
  return new Map(names.map((name) => [segmentNumber(parseWalFileName(name)!, SIZE), name]));
}

Deno.test("chainGaps() names each run of missing segments from the start on", () => {
  const cases: { label: string; names: string[]; start: number; gaps: WalGap[] }[] = [
    { label: "empty", names: [], start: 3, gaps: [] },
    { label: "no gap", names: [seg(1, 3), seg(1, 4), seg(1, 5)], start: 3, gaps: [] },
    {
      label: "one missing",
      names: [seg(1, 3), seg(1, 4), seg(1, 6)],
      start: 3,
      gaps: [{ timeline: 1, first: seg(1, 5), last: seg(1, 5), count: 1 }],
    },
    {
      label: "a run of three",
      names: [seg(1, 3), seg(1, 7), seg(1, 8)],
      start: 3,
      gaps: [{ timeline: 1, first: seg(1, 4), last: seg(1, 6), count: 3 }],
    },
    {
      label: "two runs",
      names: [seg(1, 3), seg(1, 5), seg(1, 9)],
      start: 3,
      gaps: [
        { timeline: 1, first: seg(1, 4), last: seg(1, 4), count: 1 },
        { timeline: 1, first: seg(1, 6), last: seg(1, 8), count: 3 },
      ],
    },
    {
      label: "missing right at the start (the start is before the first present)",
      names: [seg(1, 5), seg(1, 6)],
      start: 2,
      gaps: [{ timeline: 1, first: seg(1, 2), last: seg(1, 4), count: 3 }],
    },
    {
      label: "numbers below the start ignored",
      names: [seg(1, 0), seg(1, 1), seg(1, 5), seg(1, 6)],
      start: 5,
      gaps: [],
    },
    {
      label: "below the start ignored, a gap after it still found",
      names: [seg(1, 1), seg(1, 5), seg(1, 7)],
      start: 5,
      gaps: [{ timeline: 1, first: seg(1, 6), last: seg(1, 6), count: 1 }],
    },
    {
      label: "across the log rollover",
      names: [seg(1, 0xFE), seg(1, 0x101)],
      start: 0xFE,
      gaps: [{
        timeline: 1,
        first: "0000000100000000000000FF",
        last: "000000010000000100000000",
        count: 2,
      }],
    },
    {
      label: "a gap before a newer timeline's segment is named on that timeline",
      names: [seg(1, 3), seg(2, 6)],
      start: 3,
      gaps: [{ timeline: 2, first: seg(2, 4), last: seg(2, 5), count: 2 }],
    },
  ];
  for (const { label, names, start, gaps } of cases) {
    assert.deepEqual(chainGaps(chain(names), start, SIZE), gaps, label);
  }
});

Deno.test("segmentsByNumber() picks one file a number: the newer timeline, the full segment over its partial", () => {
  const archive = [
    "00000002.history",
    "00000003.history",
    seg(1, 2),
    seg(1, 3),
    seg(1, 4),
    "000000010000000000000004.00000028.backup",
    seg(1, 5),
    `${seg(1, 5)}.partial`, // the last segment of timeline 1 as a promotion left it
    seg(2, 5),
    seg(2, 6),
    `${seg(2, 7)}.partial`,
    "RECOVERYXLOG",
    "00000001000000000000000a",
  ];
  const cases: {
    label: string;
    names: string[];
    timeline: number;
    start: number;
    expected: [number, string][];
  }[] = [
    {
      label: "timeline 1 from 3: timeline 2 wins 5, partials count, the rest ignored",
      names: archive,
      timeline: 1,
      start: 3,
      expected: [[3, seg(1, 3)], [4, seg(1, 4)], [5, seg(2, 5)], [6, seg(2, 6)], [
        7,
        `${seg(2, 7)}.partial`,
      ]],
    },
    {
      label: "the order given does not matter",
      names: [...archive].reverse(),
      timeline: 1,
      start: 3,
      expected: [[3, seg(1, 3)], [4, seg(1, 4)], [5, seg(2, 5)], [6, seg(2, 6)], [
        7,
        `${seg(2, 7)}.partial`,
      ]],
    },
    {
      label: "timeline 2: timeline 1's files left out",
      names: archive,
      timeline: 2,
      start: 0,
      expected: [[5, seg(2, 5)], [6, seg(2, 6)], [7, `${seg(2, 7)}.partial`]],
    },
    {
      label: "an old primary that kept writing timeline 1 past the promotion is not on the way",
      names: [seg(1, 3), seg(1, 4), seg(1, 5), seg(1, 6), seg(1, 7), seg(2, 5)],
      timeline: 1,
      start: 3,
      expected: [[3, seg(1, 3)], [4, seg(1, 4)], [5, seg(2, 5)]],
    },
    {
      label: "a timeline above every file: nothing",
      names: archive,
      timeline: 3,
      start: 0,
      expected: [],
    },
    {
      label: "a .partial of timeline 1 loses to timeline 1's full segment, in either order",
      names: [`${seg(1, 5)}.partial`, seg(1, 5), seg(1, 4)],
      timeline: 1,
      start: 0,
      expected: [[4, seg(1, 4)], [5, seg(1, 5)]],
    },
    {
      label: "a .partial alone stands for its number",
      names: [seg(1, 4), `${seg(1, 5)}.partial`],
      timeline: 1,
      start: 0,
      expected: [[4, seg(1, 4)], [5, `${seg(1, 5)}.partial`]],
    },
    {
      label: "a newer timeline's .partial wins over an older timeline's segment",
      names: [seg(1, 5), `${seg(2, 5)}.partial`],
      timeline: 1,
      start: 0,
      expected: [[5, `${seg(2, 5)}.partial`]],
    },
    {
      label: "numbers below the start left out",
      names: archive,
      timeline: 1,
      start: 5,
      expected: [[5, seg(2, 5)], [6, seg(2, 6)], [7, `${seg(2, 7)}.partial`]],
    },
    {
      label: "only history and backup files: nothing",
      names: ["00000002.history", "000000010000000000000004.00000028.backup"],
      timeline: 1,
      start: 0,
      expected: [],
    },
  ];
  for (const { label, names, timeline, start, expected } of cases) {
    const byNumber = segmentsByNumber(names, timeline, start, SIZE);
    assert.deepEqual([...byNumber].sort((a, b) => a[0] - b[0]), expected, label);
  }
  // at 1 GiB the same names are other numbers: 000000010000000100000000 is 4
  const big = segmentsByNumber(
    ["000000010000000000000003", "000000010000000100000000"],
    1,
    0,
    1024 * MiB,
  );
  assert.deepEqual([...big], [[3, "000000010000000000000003"], [4, "000000010000000100000000"]]);
});
