/** Reading the shape of a zod schema: which keys a section has, and what kind a setting is. */
import type { z } from "npm:zod@4.6.7";

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { def: Def }).def;
}

/** The schema without optional/default/pipe wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (def.innerType && ["optional", "default", "nullable", "prefault"].includes(def.type)) {
      current = def.innerType;
    } else if (def.type === "pipe" && def.in) current = def.in;
    else return current;
  }
}

/** The schema of the setting at `path` (array indexes step into elements), if there is one. */
export function schemaAt(
  schema: z.ZodType,
  path: readonly PropertyKey[],
): z.ZodType | undefined {
  let current: z.ZodType | undefined = unwrap(schema);
  for (const key of path) {
    const def = defOf(current);
    if (def.type === "array" && typeof key === "number") current = def.element;
    else if (def.type === "object" && def.shape) current = def.shape[String(key)];
    else return undefined;
    if (!current) return undefined;
    current = unwrap(current);
  }
  return current;
}

/** The kind of value a setting holds: "number", "boolean", "array", "object", "string"… */
export function kindAt(schema: z.ZodType, path: readonly PropertyKey[]): string | undefined {
  const at = schemaAt(schema, path);
  return at ? defOf(at).type : undefined;
}

/** The keys a section of the schema allows. */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const at = schemaAt(schema, path);
  const shape = at ? defOf(at).shape : undefined;
  return shape ? Object.keys(shape) : [];
}
