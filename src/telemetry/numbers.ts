// Numbers JSON.parse cannot hold: an integer beyond ±(2^53 − 1) comes back as the nearest
// float (9007199254740993 -> 9007199254740992, 9223372036854775807 -> 9223372036854775808), and
// one beyond the float range as Infinity. jam-etl rejects such a line (`unsafe_integer`) rather
// than write a rounded value, the same way wherever the number is (a column, a list column, the
// envelope), and the reason quotes the digits as the producer wrote them.
//
// None of this is on the common path: a column's bound is part of its ajv check, a list is
// walked only for its numbers, and the raw text is looked at only once a number has failed.
import { RejectError } from '../pipeline/rejects.js';

// The text of the line being converted, for quoting a number as it was written (set per line).
let lineText = '';
export function setLineText(text: string): void {
  lineText = text;
}
export function lineTextNow(): string {
  return lineText;
}

/** True for a number that is integer-valued (or infinite) but not a safe integer. */
export function isUnsafeInteger(v: unknown): v is number {
  return typeof v === 'number' && !Number.isSafeInteger(v) && (Number.isInteger(v) || !Number.isFinite(v));
}

// A number token where JSON has a value: after `:`, `,` or `[`.
const NUMBER_TOKEN = /[:,[]\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

/** The number as the line wrote it (the first token that parses to `v`), else its JS text. */
export function originalDigits(v: number, text = lineText): string {
  NUMBER_TOKEN.lastIndex = 0;
  for (let m; (m = NUMBER_TOKEN.exec(text)); ) {
    const tok = m[1]!;
    if (Number(tok) === v) return tok;
  }
  return String(v);
}

/** The reject for an integer that cannot be held exactly, `where` naming the field. */
export function unsafeIntegerReject(where: string, v: number): RejectError {
  const digits = originalDigits(v);
  const what = Number.isFinite(v) ? 'is beyond ±(2^53 - 1), where JSON numbers stop being exact integers' : 'is beyond the range of a JSON number';
  return new RejectError('unsafe_integer', `${where} ${digits} ${what}; it would be written as ${Number.isFinite(v) ? BigInt(v).toString() : 'null'}`);
}

/**
 * Throws unsafe_integer for the first number in a parsed JSON value (a list column's content)
 * that cannot be held exactly; `path` names the value (e.g. json_encoded.results).
 */
export function checkExactNumbers(v: unknown, path: string): void {
  if (typeof v === 'number') {
    if (isUnsafeInteger(v)) throw unsafeIntegerReject(path, v);
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === 'object' ? x !== null : typeof x === 'number') checkExactNumbers(x, `${path}[${i}]`);
    }
    return;
  }
  for (const k in v as Record<string, unknown>) {
    const x = (v as Record<string, unknown>)[k];
    if (typeof x === 'object' ? x !== null : typeof x === 'number') checkExactNumbers(x, `${path}.${k}`);
  }
}

/** The deepest nesting of `[`/`{` in JSON text (strings skipped), for the too_deep reason. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) max = depth;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

// A lone surrogate: in a `u` regular expression a pair is one code point, so only lone ones match.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The path of the first string (key or value) in a parsed value that holds a lone surrogate
 * (JSON's `"\ud800"`: valid JSON, not Unicode, refused by BigQuery and Dune), else undefined.
 */
export function findLoneSurrogate(v: unknown, path: string): string | undefined {
  if (typeof v === 'string') return LONE_SURROGATE.test(v) ? path : undefined;
  if (typeof v !== 'object' || v === null) return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = findLoneSurrogate(v[i], `${path}[${i}]`);
      if (p) return p;
    }
    return undefined;
  }
  for (const k in v as Record<string, unknown>) {
    const kp = path === '' ? k : `${path}.${k}`;
    if (LONE_SURROGATE.test(k)) return `${kp} (a key)`;
    const p = findLoneSurrogate((v as Record<string, unknown>)[k], kp);
    if (p) return p;
  }
  return undefined;
}
