/** How many characters of a value an error message shows at most. */
export const SHOWN_CHARACTERS = 80;

/** Cut `text` to `max` characters with an ellipsis, never in the middle of a surrogate pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * A value as an error message echoes it: JSON, and at most SHOWN_CHARACTERS of it, with the
 * original length (`"aaaa…" (52428800 characters)`), so a huge value cannot flood stderr.
 */
export function show(v: unknown): string {
  if (typeof v === 'string') {
    return v.length <= SHOWN_CHARACTERS ? JSON.stringify(v) : `${JSON.stringify(clip(v, SHOWN_CHARACTERS))} (${v.length} characters)`;
  }
  let json: string;
  try {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- lib.d.ts says string, but undefined, a function or a symbol stringify to undefined
    json = JSON.stringify(v) ?? String(v);
  } catch {
    json = String(v);
  }
  return json.length <= SHOWN_CHARACTERS ? json : `${clip(json, SHOWN_CHARACTERS)} (${json.length} characters)`;
}

/** A mapping key as an error path shows it: plain keys as they are, anything else quoted and cut. */
export function showKey(key: string): string {
  return /^[A-Za-z0-9_$-]{1,80}$/.test(key) ? key : show(key);
}

/**
 * Offset of the first byte that is not part of a well-formed UTF-8 sequence (overlong forms,
 * surrogates and code points above U+10FFFF included, as TextDecoder's fatal mode sees them);
 * -1 when all of it is UTF-8.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b === 0xe0) [need, lo] = [2, 0xa0];
    else if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) need = 2;
    else if (b === 0xed) [need, hi] = [2, 0x9f];
    else if (b === 0xf0) [need, lo] = [3, 0x90];
    else if (b >= 0xf1 && b <= 0xf3) need = 3;
    else if (b === 0xf4) [need, hi] = [3, 0x8f];
    else return i;
    for (let j = 1; j <= need; j++) {
      const c = bytes[i + j];
      if (c === undefined || c < lo || c > hi) return i;
      lo = 0x80;
      hi = 0xbf;
    }
    i += need + 1;
  }
  return -1;
}
