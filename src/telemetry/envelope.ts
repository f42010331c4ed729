// The telemetry envelope: one JSON object per log line. Normalises time (UTC, microseconds),
// derives the JAM slot, resolves team and sender, parses metadata `k=v|k=v`.
import { RejectError } from '../pipeline/rejects.js';
import { isUnsafeInteger, lineTextNow, unsafeIntegerReject } from './numbers.js';

export interface Envelope {
  /** RFC 3339 UTC with exactly six fraction digits. */
  time: string;
  slot: number;
  team: string;
  sender_id: string | null;
  elapsed: number | null;
  codec_encoded: string | null;
  msgType: number;
  /** `json_encoded`: the JAM object (undefined when absent). */
  json: unknown;
  meta: Metadata;
  /**
   * For a huge line parsed as a skeleton (src/bigstrings.ts): the original bytes of a string
   * that stands in `json` as a placeholder; undefined for any other value. A handler that looks
   * inside a long string (rather than passing it on) reads it through this.
   */
  bytesOf?: (v: unknown) => Buffer | undefined;
}

export type Metadata = Readonly<Record<string, string>>;
export type TeamMap = ReadonlyMap<string, string>;

const EMPTY_META: Metadata = Object.freeze({});

/** JAM common era: 2025-01-01T12:00:00Z; slots are 6 seconds. */
export const JAM_EPOCH_MS = Date.UTC(2025, 0, 1, 12, 0, 0);
export const SLOT_MS = 6000;

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

// The day of the last UTC time seen ("YYYY-MM-DD") and its start in ms: one log's lines share it.
let lastDay = '';
let lastDayMs = 0;

function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The producers' own shape, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, without the regular expression
 * and Date objects; undefined for anything else (or any doubt), which takes the general path.
 */
function fastUtcTime(v: string): { time: string; slot: number } | undefined {
  const len = v.length;
  if (len < 20 || len > 30 || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return undefined;
  const t = v.charCodeAt(10);
  if (t !== 84 && t !== 116 && t !== 32) return undefined; // T t space
  const z = v.charCodeAt(len - 1);
  if (z !== 90 && z !== 122) return undefined; // Z z
  let frac = '';
  if (len > 20) {
    // .d to .ddddddddd
    if (len < 22 || v.charCodeAt(19) !== 46 || digits(v, 20, len - 1) < 0) return undefined;
    frac = v.slice(20, Math.min(len - 1, 26));
  }
  const h = digits(v, 11, 13), mi = digits(v, 14, 16), s = digits(v, 17, 19);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return undefined;
  const day = v.slice(0, 10);
  if (day !== lastDay) {
    const y = digits(v, 0, 4), mo = digits(v, 5, 7), d = digits(v, 8, 10);
    if (y < 0 || mo < 1 || mo > 12 || d < 0) return undefined;
    const ms = Date.UTC(y, mo - 1, d);
    const check = new Date(ms);
    if (check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return undefined;
    lastDay = day;
    lastDayMs = ms;
  }
  const ms = lastDayMs + h * 3600000 + mi * 60000 + s * 1000;
  const time = `${day}T${v.slice(11, 19)}.${frac.length === 6 ? frac : frac.padEnd(6, '0')}Z`;
  return { time, slot: Math.floor((ms - JAM_EPOCH_MS) / SLOT_MS) };
}

/** Parses RFC 3339 (0-9 fraction digits, Z or offset) into UTC microsecond text and a slot. */
export function normaliseTime(value: unknown): { time: string; slot: number } {
  if (typeof value === 'string') {
    const fast = fastUtcTime(value);
    if (fast) return fast;
  }
  if (typeof value !== 'string') {
    throw new RejectError('bad_envelope', value === undefined ? 'time is missing' : 'time must be an RFC 3339 string');
  }
  const m = TIME_RE.exec(value);
  if (!m) throw new RejectError('bad_envelope', `time ${JSON.stringify(value.slice(0, 40))} is not RFC 3339`);
  const y = +m[1]!, mo = +m[2]!, d = +m[3]!, h = +m[4]!, mi = +m[5]!, s = +m[6]!;
  const frac = (m[7] ?? '').padEnd(6, '0').slice(0, 6);
  let ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(ms);
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59 || check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) {
    throw new RejectError('bad_envelope', `time ${JSON.stringify(value)} is not a valid date`);
  }
  let text: string;
  if (m[8] !== undefined) {
    // Already UTC: keep the digits as written (no float rounding of the fraction).
    text = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${frac}Z`;
  } else {
    const oh = +m[10]!, om = +m[11]!;
    if (oh > 23 || om > 59) throw new RejectError('bad_envelope', `time ${JSON.stringify(value)} has an invalid offset`);
    ms -= (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60000;
    const u = new Date(ms);
    if (Number.isNaN(u.getTime())) throw new RejectError('bad_envelope', `time ${JSON.stringify(value)} is out of range`);
    text = `${pad(u.getUTCFullYear(), 4)}-${pad(u.getUTCMonth() + 1, 2)}-${pad(u.getUTCDate(), 2)}T${pad(u.getUTCHours(), 2)}:${pad(u.getUTCMinutes(), 2)}:${pad(u.getUTCSeconds(), 2)}.${frac}Z`;
  }
  return { time: text, slot: Math.floor((ms - JAM_EPOCH_MS) / SLOT_MS) };
}

/** `k=v|k=v` -> record. Keys without `=` are kept with an empty value. */
export function parseMetadata(value: unknown): Metadata {
  if (value === undefined || value === null || value === '') return EMPTY_META;
  if (typeof value !== 'string') throw new RejectError('bad_envelope', 'metadata must be a string');
  const out: Record<string, string> = {};
  for (const part of value.split('|')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) out[part] = '';
    else out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

// A canonical decimal integer: no sign, no leading zero, no fraction or exponent.
const CANONICAL_MSG_TYPE = /^(?:0|[1-9]\d{0,9})$/;
const NUMBER_AT = /\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/y;

/**
 * How a numeric msg_type was written in the line: JSON.parse gives 141 for `141`, `141.0` and
 * `1.41e2` alike, so only the text tells. Looked at only for a numeric msg_type (the producers
 * send strings); undefined when the text does not show it (an escaped key).
 */
function msgTypeToken(value: number): string | undefined {
  const text = lineTextNow();
  let other: string | undefined;
  for (let i = text.indexOf('"msg_type"'); i !== -1; i = text.indexOf('"msg_type"', i + 10)) {
    NUMBER_AT.lastIndex = i + 10;
    const m = NUMBER_AT.exec(text);
    if (!m || Number(m[1]) !== value) continue;
    if (CANONICAL_MSG_TYPE.test(m[1]!)) return m[1];
    other ??= m[1];
  }
  return other;
}

/** msg_type as a canonical decimal integer, string or number -> integer. */
export function parseMsgType(value: unknown): number {
  if (typeof value === 'string') {
    if (CANONICAL_MSG_TYPE.test(value)) return Number(value);
  } else if (typeof value === 'number') {
    const tok = msgTypeToken(value);
    if (Number.isSafeInteger(value) && value >= 0 && (tok === undefined || CANONICAL_MSG_TYPE.test(tok))) return value;
    throw new RejectError('bad_msg_type', `msg_type ${tok ?? String(value)} is not a canonical decimal integer (digits only, no sign, leading zero, fraction or exponent)`);
  } else if (value === undefined || value === null) {
    throw new RejectError('missing_msg_type', 'msg_type is missing');
  }
  throw new RejectError('bad_msg_type', `msg_type ${JSON.stringify(value).slice(0, 60)} is not a canonical decimal integer (digits only, no sign, leading zero, fraction or exponent)`);
}

function optionalString(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new RejectError('bad_envelope', `${key} must be a string`);
  return v;
}

/** Builds the envelope of one parsed log line. The msg_type has already been parsed. */
export function readEnvelope(o: Record<string, unknown>, msgType: number, teams: TeamMap | undefined): Envelope {
  const { time, slot } = normaliseTime(o.time);
  if (slot < 0) throw new RejectError('out_of_range', `time ${JSON.stringify(o.time)} is before the JAM common era (2025-01-01T12:00:00Z)`);
  const meta = parseMetadata(o.metadata);
  const sender = optionalString(o, 'sender_id') ?? (meta.id || null);
  let team = optionalString(o, 'team') || meta.team || (sender !== null && teams?.get(sender.toLowerCase())) || 'unknown';
  if (typeof team !== 'string') team = 'unknown';
  const el = o.elapsed;
  let elapsed: number | null = null;
  if (el !== undefined && el !== null) {
    if (typeof el !== 'number' || !Number.isSafeInteger(el) || el < 0) {
      if (isUnsafeInteger(el)) throw unsafeIntegerReject('elapsed', el);
      throw new RejectError('bad_envelope', `elapsed ${JSON.stringify(el)} must be a non-negative integer (microseconds)`);
    }
    elapsed = el;
  }
  return {
    time,
    slot,
    team,
    sender_id: sender,
    elapsed,
    codec_encoded: optionalString(o, 'codec_encoded'),
    msgType,
    json: o.json_encoded,
    meta,
  };
}
