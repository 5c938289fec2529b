import assert from "node:assert/strict";
import { resolveId } from "../../src/core/catalog.ts";
import { AmbiguousIdError, BackupNotFoundError } from "../../src/core/errors.ts";

const backups = [
  { id: "full_20261123T101500123Z" },
  { id: "full_20261122T101500123Z" },
  { id: "schema_20261123T110000456Z" },
  { id: "pre-restore_20261124T090000000Z" },
];

const found: [string, string][] = [
  ["full_20261123T101500123Z", "full_20261123T101500123Z"],
  ["20261122", "full_20261122T101500123Z"],
  ["schema", "schema_20261123T110000456Z"],
  ["1124T09", "pre-restore_20261124T090000000Z"],
  ["456Z", "schema_20261123T110000456Z"],
];

for (const [query, id] of found) {
  Deno.test(`resolveId() finds "${id}" from "${query}"`, () => {
    assert.equal(resolveId(backups, query).id, id);
  });
}

Deno.test("resolveId() lists the candidates when a part matches several backups", () => {
  assert.throws(() => resolveId(backups, "20261123"), (error) => {
    assert.ok(error instanceof AmbiguousIdError);
    assert.equal(
      error.message,
      'Cannot choose a backup for "20261123": it matches 2 backups ("full_20261123T101500123Z", "schema_20261123T110000456Z"); give more of the id',
    );
    return true;
  });
});

for (const query of ["nothing", "", "   "]) {
  Deno.test(`resolveId() reports "${query}" as not found`, () => {
    assert.throws(() => resolveId(backups, query), (error) => {
      assert.ok(error instanceof BackupNotFoundError);
      assert.equal(
        error.message,
        `Cannot find backup "${query}": no backup id contains it (run "list" to see the ids)`,
      );
      return true;
    });
  });
}
