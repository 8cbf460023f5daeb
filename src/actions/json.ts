/** Parse a command's JSON output, naming the command when it is not JSON. */
export function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what}: expected JSON output, got: ${text.trim().slice(0, 300) || '(nothing)'}`);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asArray(what: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${what}: expected a JSON array`);
  return v;
}
