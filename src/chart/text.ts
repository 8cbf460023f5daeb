/**
 * Text sizes of the drawing, shared by the layout (which must leave room for the text) and the
 * SVG (which draws it). The smallest is 11 px so that the whole chart fitted into a 1920×1080
 * window (scaled to about 0.99 under the viewer's header) still shows every label at 10 px or more.
 */
export const FONT = {
  state: 13,
  title: 13,
  small: 11,
  label: 11,
} as const;

/** Line height of edge labels. */
export const LABEL_LINE = 14;

/**
 * A generous estimate of a sans-serif text's width (the browser's font is not known here;
 * DejaVu Sans, Debian's default, is among the widest): boxes come out a little roomy, never cut.
 */
export function textWidth(text: string, size: number, bold = false): number {
  return Math.ceil(text.length * size * (bold ? 0.68 : 0.62));
}

/** An item longer than a line, cut after a ` |` of its guards: as many guards on a line as fit. */
function piecesOf(item: string, max: number): string[] {
  if (item.length <= max) return [item];
  const pieces: string[] = [];
  for (const part of item.split(/(?<= \|) /)) {
    const last = pieces.length - 1;
    const joined = `${pieces[last] ?? ''} ${part}`;
    if (last >= 0 && joined.length <= max) pieces[last] = joined;
    else pieces.push(part);
  }
  return pieces;
}

/**
 * Label items packed into lines of at most `max` characters, ` · ` between items on one line;
 * an item too long for a line goes on lines of its own.
 */
export function packLines(items: readonly string[], max = 24): string[] {
  const lines: string[] = [];
  let joinable = false;
  for (const item of items) {
    const pieces = piecesOf(item, max);
    const last = lines.length - 1;
    const joined = `${lines[last] ?? ''} · ${item}`;
    if (pieces.length === 1 && joinable && joined.length <= max) lines[last] = joined;
    else lines.push(...pieces);
    joinable = pieces.length === 1;
  }
  return lines;
}

/** Room around an edge label's text. */
export const LABEL_PAD = 4;

/** The box an edge label of these lines takes. */
export function labelSize(lines: readonly string[]): { width: number; height: number } {
  return { width: Math.max(0, ...lines.map((l) => textWidth(l, FONT.label))) + 2 * LABEL_PAD, height: lines.length * LABEL_LINE + LABEL_PAD };
}
