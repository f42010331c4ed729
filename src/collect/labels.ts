// What the collector reads of an envelope, cheaply: only the labels of its metrics and the node
// registry (team, msg_type, sender_id, elapsed, and a block's slot), never a full JSON.parse.
// Producers put `time`, `team`, `sender_id`, `msg_type` before the (possibly megabytes-long)
// `json_encoded`, and `metadata`, `elapsed`, `codec_encoded` after it. So: a scan of the top-level
// keys from the start that stops at the first object or array value, then, for the keys still
// missing, a look from the end (`,"key":` found backwards) that is accepted only when the scan
// from there to the final `}` meets nothing but top-level key/value pairs (a nested key of the
// same name is never taken for the envelope's). Anything unexpected just leaves a label unknown:
// the collector writes the message whatever its content; the ETL judges it.

export interface Labels {
  team: string | null;
  msgType: string | null;
  senderId: string | null;
  /** Microseconds, -1 when absent. */
  elapsed: number;
  /** metadata `team=` (older producers), used when there is no `team`. */
  metaTeam: string | null;
  /** header.slot of a block (msg_type 128), -1 otherwise. */
  slot: number;
}

export function newLabels(): Labels {
  return { team: null, msgType: null, senderId: null, elapsed: -1, metaTeam: null, slot: -1 };
}

/** The last text made from some bytes: the same bytes again give the same string, no allocation. */
class StrSlot {
  private bytes = Buffer.alloc(256);
  private len = -1;
  private str = '';
  get(buf: Buffer, s: number, e: number, enc: 'utf8' | 'latin1'): string {
    const len = e - s;
    if (len === this.len) {
      const b = this.bytes;
      let i = 0;
      while (i < len && b[i] === buf[s + i]) i++;
      if (i === len) return this.str;
    }
    this.str = buf.toString(enc, s, e);
    if (len <= this.bytes.length) {
      buf.copy(this.bytes, 0, s, e);
      this.len = len;
    } else this.len = -1;
    return this.str;
  }
}

/** Per-connection (per-node) memory of the last label strings, so steady senders cost no strings. */
export class LabelCache {
  readonly team = new StrSlot();
  readonly sender = new StrSlot();
  readonly meta = new StrSlot();
  readonly msg = new StrSlot();
}

const MSG_TYPE_TEXT: string[] = Array.from({ length: 256 }, (_, i) => String(i));

const QUOTE = 34, BSLASH = 92, COLON = 58, COMMA = 44, LBRACE = 123, RBRACE = 125, LBRACKET = 91;

function isWs(b: number | undefined): boolean {
  return b === 32 || b === 10 || b === 13 || b === 9;
}

/** End (index of the closing quote) of a string starting after its opening quote at i; -1 when none. */
function stringEnd(buf: Buffer, i: number, end: number): number {
  // Short strings (keys, ids, times): a byte loop beats a native call.
  const stop = Math.min(end, i + 96);
  for (let k = i; k < stop; k++) {
    const b = buf[k];
    if (b === QUOTE) return k;
    if (b === BSLASH) {
      k++;
      continue;
    }
  }
  if (stop === end) return -1;
  for (;;) {
    const q = buf.indexOf(QUOTE, i);
    if (q < 0 || q >= end) return -1;
    let k = q - 1, bs = 0;
    while (k >= i && buf[k] === BSLASH) {
      bs++;
      k--;
    }
    if ((bs & 1) === 0) return q;
    i = q + 1;
  }
}

// Key ids by length and bytes, compared without making strings.
const K_TEAM = 1, K_MSG = 2, K_SENDER = 3, K_ELAPSED = 4, K_META = 5, K_JSON = 6;
const KEYS: Array<[number, Buffer]> = [
  [K_TEAM, Buffer.from('team')],
  [K_MSG, Buffer.from('msg_type')],
  [K_SENDER, Buffer.from('sender_id')],
  [K_ELAPSED, Buffer.from('elapsed')],
  [K_META, Buffer.from('metadata')],
  [K_JSON, Buffer.from('json_encoded')],
];

function eq(buf: Buffer, s: number, k: Buffer): boolean {
  for (let i = 0; i < k.length; i++) if (buf[s + i] !== k[i]) return false;
  return true;
}

const B_TEAM = KEYS[0]![1], B_MSG = KEYS[1]![1], B_SENDER = KEYS[2]![1], B_ELAPSED = KEYS[3]![1], B_META = KEYS[4]![1], B_JSON = KEYS[5]![1];

function keyId(buf: Buffer, s: number, e: number): number {
  switch (e - s) {
    case 4:
      return eq(buf, s, B_TEAM) ? K_TEAM : 0;
    case 7:
      return eq(buf, s, B_ELAPSED) ? K_ELAPSED : 0;
    case 8:
      return eq(buf, s, B_MSG) ? K_MSG : eq(buf, s, B_META) ? K_META : 0;
    case 9:
      return eq(buf, s, B_SENDER) ? K_SENDER : 0;
    case 12:
      return eq(buf, s, B_JSON) ? K_JSON : 0;
    default:
      return 0;
  }
}

/** Stores one key's value (a string at [vs, ve), or a number at [vs, ve) when !isStr). */
function setValue(buf: Buffer, id: number, vs: number, ve: number, isStr: boolean, out: Labels, cache: LabelCache): void {
  if (id === 0 || id === K_JSON) return;
  if (isStr) {
    if (ve - vs > 256 && id !== K_META) return;
    if (id === K_TEAM) {
      if (out.team === null) out.team = cache.team.get(buf, vs, ve, 'utf8');
    } else if (id === K_MSG) {
      if (out.msgType === null) out.msgType = msgTypeText(buf, vs, ve, cache);
    } else if (id === K_SENDER) {
      if (out.senderId === null) out.senderId = cache.sender.get(buf, vs, ve, 'latin1');
    } else if (id === K_META && out.metaTeam === null) {
      // `team=` at the start or after a `|`.
      for (let t = vs; t + 5 <= ve; t++) {
        if (buf[t] === 116 && buf[t + 1] === 101 && buf[t + 2] === 97 && buf[t + 3] === 109 && buf[t + 4] === 61 && (t === vs || buf[t - 1] === 124)) {
          let te = t + 5;
          while (te < ve && buf[te] !== 124) te++;
          if (te - t - 5 <= 256) out.metaTeam = cache.meta.get(buf, t + 5, te, 'utf8');
          break;
        }
        if (t - vs > 4096) break;
      }
    }
    return;
  }
  if (id !== K_MSG && id !== K_ELAPSED) return;
  let v = 0;
  if (ve <= vs || ve - vs > 15) return;
  for (let k = vs; k < ve; k++) {
    const d = buf[k]! - 48;
    if (d < 0 || d > 9) return;
    v = v * 10 + d;
  }
  if (id === K_MSG) {
    if (out.msgType === null) out.msgType = v < 256 ? MSG_TYPE_TEXT[v]! : String(v);
  } else if (out.elapsed < 0) out.elapsed = v;
}

/**
 * Reads top-level pairs forwards from i (just after the envelope's `{`). Returns the index of the
 * first nested value (an object or array: json_encoded), -2 at the envelope's `}`, -1 on
 * anything unexpected.
 */
function scanHead(buf: Buffer, i: number, end: number, out: Labels, cache: LabelCache): number {
  for (;;) {
    while (i < end && isWs(buf[i])) i++;
    if (buf[i] === RBRACE) return -2;
    if (buf[i] !== QUOTE) return -1;
    const ks = i + 1;
    const ke = stringEnd(buf, ks, end);
    if (ke < 0) return -1;
    const id = keyId(buf, ks, ke);
    i = ke + 1;
    while (i < end && isWs(buf[i])) i++;
    if (buf[i] !== COLON) return -1;
    i++;
    while (i < end && isWs(buf[i])) i++;
    const b = buf[i];
    if (b === QUOTE) {
      const vs = i + 1;
      const ve = stringEnd(buf, vs, end);
      if (ve < 0) return -1;
      setValue(buf, id, vs, ve, true, out, cache);
      i = ve + 1;
    } else if (b === LBRACE || b === LBRACKET) {
      return i;
    } else {
      const vs = i;
      while (i < end && buf[i] !== COMMA && buf[i] !== RBRACE && !isWs(buf[i])) i++;
      setValue(buf, id, vs, i, false, out, cache);
    }
    while (i < end && isWs(buf[i])) i++;
    if (buf[i] === COMMA) i++;
    else if (buf[i] === RBRACE) return -2;
    else return -1;
  }
}

/** Index of the quote opening the string whose closing quote is at q (searching back to lo); -1 if none. */
function stringStart(buf: Buffer, q: number, lo: number): number {
  let k = q - 1;
  const stop = Math.max(lo, q - 96);
  for (;;) {
    let p = -1;
    // Short strings: a byte loop; long ones (hex blobs): the native reverse search.
    for (; k >= stop; k--) {
      if (buf[k] === QUOTE) {
        p = k;
        break;
      }
    }
    if (p < 0) {
      if (k < lo) return -1;
      p = buf.lastIndexOf(QUOTE, k);
      if (p < lo) return -1;
    }
    let bs = 0, j = p - 1;
    while (j >= lo && buf[j] === BSLASH) {
      bs++;
      j--;
    }
    if ((bs & 1) === 0) return p;
    k = p - 1;
    if (k < lo) return -1;
  }
}

/**
 * Reads top-level pairs backwards from the envelope's last `}` down to lo, stopping at the first
 * nested value (json_encoded, seen from its end). Only top-level pairs can be met this way, so a
 * nested key of the same name is never taken.
 */
function scanTail(buf: Buffer, start: number, end: number, lo: number, out: Labels, cache: LabelCache): void {
  let i = end - 1;
  while (i >= start && isWs(buf[i])) i--;
  if (buf[i] !== RBRACE) return;
  i--;
  for (;;) {
    while (i >= lo && isWs(buf[i])) i--;
    if (i < lo) return;
    let vs: number, ve: number, isStr: boolean;
    const b = buf[i];
    if (b === QUOTE) {
      ve = i;
      vs = stringStart(buf, i, lo);
      if (vs < 0) return;
      i = vs - 1;
      vs++;
      isStr = true;
    } else if (b === RBRACE || b === 93 /* ] */) {
      return; // the nested value: everything after it has been read
    } else {
      ve = i + 1;
      while (i >= lo && buf[i] !== COLON && !isWs(buf[i])) i--;
      vs = i + 1;
      isStr = false;
    }
    while (i >= lo && isWs(buf[i])) i--;
    if (buf[i] !== COLON) return;
    i--;
    while (i >= lo && isWs(buf[i])) i--;
    if (buf[i] !== QUOTE) return;
    const ke = i;
    const ks = stringStart(buf, ke, lo);
    if (ks < 0) return;
    setValue(buf, keyId(buf, ks + 1, ke), vs, ve, isStr, out, cache);
    i = ks - 1;
    while (i >= lo && isWs(buf[i])) i--;
    if (buf[i] !== COMMA) return; // `{`: the envelope's start, or something unexpected
    i--;
  }
}

function msgTypeText(buf: Buffer, s: number, e: number, cache: LabelCache): string {
  if (e - s <= 3) {
    let v = 0;
    for (let k = s; k < e; k++) {
      const d = buf[k]! - 48;
      if (d < 0 || d > 9) return cache.msg.get(buf, s, e, 'latin1');
      v = v * 10 + d;
    }
    if (e > s && v < 256 && (buf[s] !== 48 || e - s === 1)) return MSG_TYPE_TEXT[v]!;
  }
  return cache.msg.get(buf, s, e, 'latin1');
}

const SLOT = Buffer.from('"slot":');
const defaultCache = new LabelCache();

/** Fills out (reset first) from the envelope in msg[start, end). */
export function readLabels(msg: Buffer, out: Labels, start = 0, end = msg.length, cache: LabelCache = defaultCache): void {
  out.team = out.msgType = out.senderId = out.metaTeam = null;
  out.elapsed = -1;
  out.slot = -1;
  let i = start;
  while (i < end && isWs(msg[i])) i++;
  if (msg[i] !== LBRACE) return;
  const stop = scanHead(msg, i + 1, end, out, cache);
  if (stop < 0) return;
  // Stopped at a nested value (json_encoded): the keys after it, read from the end.
  scanTail(msg, start, end, stop + 1, out, cache);
  if (out.msgType === '128') {
    // A block: header.slot, the first "slot" of json_encoded (the header comes first).
    const lim = Math.min(end, stop + 4096);
    for (let k = stop; k + SLOT.length <= lim; k++) {
      if (msg[k] === QUOTE && msg[k + 1] === 115 && eq(msg, k, SLOT)) {
        let v = 0, j = k + SLOT.length, digits = 0;
        while (msg[j] === 32) j++;
        for (; digits < 12; j++, digits++) {
          const d = msg[j]! - 48;
          if (!(d >= 0 && d <= 9)) break;
          v = v * 10 + d;
        }
        if (digits > 0) out.slot = v;
        break;
      }
    }
  }
}
