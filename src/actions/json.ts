/** Parse a command's JSON output, naming the command when it is not JSON. */
export function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what}: expected JSON output, got: ${text.trim().slice(0, 300) || '(nothing)'}`);
  }
}

/** What JSON.stringify writes faithfully: what goes to a helper over a pipe. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asArray(what: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${what}: expected a JSON array`);
  return v;
}

/**
 * The first JSON value of a command's output. `ceph osd blocklist ls -f json` on 16.2.15 prints
 * two arrays back to back (entries, then ranges: `[…][]`), which no JSON parser accepts whole.
 */
export function parseFirstJson(what: string, text: string): unknown {
  const s = text.trimStart();
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') {
      depth--;
      if (depth === 0) return parseJson(what, s.slice(0, i + 1));
    }
  }
  return parseJson(what, s);
}
