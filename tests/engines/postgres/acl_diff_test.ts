/**
 * `aclChanges()` turns the ACL an object starts with on the target into the source's: revokes
 * of what the source took away (a restore must never widen privileges), then grants.
 */
import assert from "node:assert/strict";
import { aclChanges, type AclEntry } from "../../../src/engines/postgres/_acl_diff.ts";

function entry(grantee: string, privilege: string, grantable = false, grantor = "o"): AclEntry {
  return { grantor, grantee, privilege, grantable };
}

const FUNCTION = { keyword: "FUNCTION", name: "s.f(integer)", owner: "o" };
const EXECUTE_DEFAULT = [entry("PUBLIC", "EXECUTE"), entry("o", "EXECUTE")];

const cases: {
  name: string;
  from: AclEntry[];
  to: AclEntry[];
  target?: { keyword: string; name: string; owner?: string; column?: string };
  alsoRevoke?: AclEntry[];
  expected: string;
}[] = [
  { name: "nothing when equal", from: EXECUTE_DEFAULT, to: EXECUTE_DEFAULT, expected: "" },
  {
    name: "a privilege taken from PUBLIC is revoked",
    from: EXECUTE_DEFAULT,
    to: [entry("o", "EXECUTE")],
    expected: "REVOKE EXECUTE ON FUNCTION s.f(integer) FROM PUBLIC;\n",
  },
  {
    name: "a new grantee is granted, with its grant option",
    from: EXECUTE_DEFAULT,
    to: [...EXECUTE_DEFAULT, entry("a", "EXECUTE", true)],
    expected: "GRANT EXECUTE ON FUNCTION s.f(integer) TO a WITH GRANT OPTION;\n",
  },
  {
    name: "a grant option alone is revoked or granted",
    from: [entry("a", "EXECUTE", true), entry("b", "EXECUTE")],
    to: [entry("a", "EXECUTE"), entry("b", "EXECUTE", true)],
    expected: "REVOKE GRANT OPTION FOR EXECUTE ON FUNCTION s.f(integer) FROM a;\n" +
      "GRANT EXECUTE ON FUNCTION s.f(integer) TO b WITH GRANT OPTION;\n",
  },
  {
    name: "privileges of one grantee go in one statement, column privileges name the column",
    from: [],
    to: [entry("a", "SELECT"), entry("a", "UPDATE")],
    target: { keyword: "TABLE", name: "pg_catalog.pg_authid", owner: "o", column: "rolname" },
    expected: "GRANT SELECT (rolname), UPDATE (rolname) ON TABLE pg_catalog.pg_authid TO a;\n",
  },
  {
    name: "a grant by another role is replayed as that role, revokes latest first",
    from: [entry("a", "SELECT", true), entry("b", "SELECT", false, "a")],
    to: [entry("c", "SELECT", false, "a"), entry("a", "SELECT", true)],
    target: { keyword: "TABLE", name: "t", owner: "o" },
    expected: "SET SESSION AUTHORIZATION a;\nREVOKE SELECT ON TABLE t FROM b;\n" +
      "RESET SESSION AUTHORIZATION;\n" +
      "SET SESSION AUTHORIZATION a;\nGRANT SELECT ON TABLE t TO c;\nRESET SESSION AUTHORIZATION;\n",
  },
  {
    name: "alsoRevoke covers a wider starting point on the target",
    from: [entry("o", "EXECUTE"), entry("a", "EXECUTE")],
    to: [entry("o", "EXECUTE")],
    alsoRevoke: EXECUTE_DEFAULT,
    expected: "REVOKE EXECUTE ON FUNCTION s.f(integer) FROM PUBLIC;\n" +
      "REVOKE EXECUTE ON FUNCTION s.f(integer) FROM a;\n",
  },
  {
    name: "everything revoked (an empty ACL)",
    from: EXECUTE_DEFAULT,
    to: [],
    expected: "REVOKE EXECUTE ON FUNCTION s.f(integer) FROM o;\n" +
      "REVOKE EXECUTE ON FUNCTION s.f(integer) FROM PUBLIC;\n",
  },
];

for (const c of cases) {
  Deno.test(`aclChanges(): ${c.name}`, () => {
    assert.equal(aclChanges(c.from, c.to, c.target ?? FUNCTION, c.alsoRevoke), c.expected);
  });
}
