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

const QUOTE = 34, BSLASH = 92, COLON = 58, COMMA = 44, LBRACE = 123, RBRACE = 125, LBRACKET = 91;

function isWs(b: number | undefined): boolean {
  return b === 32 || b === 10 || b === 13 || b === 9;
}

/** End (index of the closing quote) of a string starting after its opening quote at i; -1 when none. */
function stringEnd(buf: Buffer, i: number, end: number): number {
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

function keyId(buf: Buffer, s: number, e: number): number {
  const len = e - s;
  outer: for (const [id, k] of KEYS) {
    if (k.length !== len) continue;
    for (let i = 0; i < len; i++) if (buf[s + i] !== k[i]) continue outer;
    return id;
  }
  return 0;
}

/**
 * Reads top-level pairs from i (just after `{` or `,`) until `}` or a nested value. Returns the
 * index where it stopped at a nested value's first byte, -2 when it reached the final `}`
 * cleanly, -1 on anything else.
 */
function scanPairs(buf: Buffer, i: number, end: number, out: Labels, stopAtNested: boolean): number {
  // From the end (stopAtNested false) the `}` reached must be the envelope's last byte.
  const closed = (at: number): number => {
    if (stopAtNested) return -2;
    let k = at + 1;
    while (k < end && isWs(buf[k])) k++;
    return k === end ? -2 : -1;
  };
  for (;;) {
    while (i < end && isWs(buf[i])) i++;
    if (buf[i] === RBRACE) return closed(i);
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
      if (ve - vs <= 256) {
        if (id === K_TEAM) out.team = buf.toString('utf8', vs, ve);
        else if (id === K_MSG) out.msgType = buf.toString('latin1', vs, ve);
        else if (id === K_SENDER) out.senderId = buf.toString('latin1', vs, ve);
      }
      if (id === K_META) {
        const t = buf.indexOf('team=', vs, 'latin1');
        if (t >= 0 && t < ve) {
          let te = buf.indexOf(124 /* | */, t);
          if (te < 0 || te > ve) te = ve;
          if (te - t - 5 <= 256) out.metaTeam = buf.toString('utf8', t + 5, te);
        }
      }
      i = ve + 1;
    } else if (b === LBRACE || b === LBRACKET) {
      return stopAtNested ? i : -1;
    } else {
      // number or literal
      const vs = i;
      while (i < end && buf[i] !== COMMA && buf[i] !== RBRACE && !isWs(buf[i])) i++;
      if (id === K_MSG || id === K_ELAPSED) {
        let v = 0, ok = i > vs && i - vs <= 15;
        for (let k = vs; ok && k < i; k++) {
          const d = buf[k]! - 48;
          if (d < 0 || d > 9) ok = false;
          else v = v * 10 + d;
        }
        if (ok) {
          if (id === K_MSG) out.msgType = String(v);
          else out.elapsed = v;
        }
      }
    }
    while (i < end && isWs(buf[i])) i++;
    if (buf[i] === COMMA) i++;
    else if (buf[i] === RBRACE) return closed(i);
    else return -1;
  }
}

const TAIL_PATTERNS: Array<[number, Buffer]> = [
  [K_ELAPSED, Buffer.from(',"elapsed":')],
  [K_META, Buffer.from(',"metadata":')],
  [K_TEAM, Buffer.from(',"team":')],
  [K_SENDER, Buffer.from(',"sender_id":')],
  [K_MSG, Buffer.from(',"msg_type":')],
];
const SLOT = Buffer.from('"slot":');

/** Fills out (reset first) from one envelope's bytes. */
export function readLabels(msg: Buffer, out: Labels): void {
  out.team = out.msgType = out.senderId = out.metaTeam = null;
  out.elapsed = -1;
  out.slot = -1;
  const end = msg.length;
  let i = 0;
  while (i < end && isWs(msg[i])) i++;
  if (msg[i] !== LBRACE) return;
  const stop = scanPairs(msg, i + 1, end, out, true);
  if (stop >= 0) {
    // Stopped at a nested value (json_encoded): the rest of the keys from the end.
    let from = end;
    for (;;) {
      // The latest-starting candidate still left: try them from the end backwards.
      let best = -1;
      for (const [id, pat] of TAIL_PATTERNS) {
        if (alreadyHave(out, id)) continue;
        const p = msg.lastIndexOf(pat, from - 1);
        if (p > stop && p > best) best = p;
      }
      if (best < 0) break;
      const probe = newLabels();
      if (scanPairs(msg, best + 1, end, probe, false) === -2) {
        // Clean to the end: take what it found, and keep looking before it.
        if (out.team === null && probe.team !== null) out.team = probe.team;
        if (out.msgType === null && probe.msgType !== null) out.msgType = probe.msgType;
        if (out.senderId === null && probe.senderId !== null) out.senderId = probe.senderId;
        if (out.elapsed < 0 && probe.elapsed >= 0) out.elapsed = probe.elapsed;
        if (out.metaTeam === null && probe.metaTeam !== null) out.metaTeam = probe.metaTeam;
      } else break;
      from = best;
    }
    if (out.msgType === '128') {
      const s = msg.indexOf(SLOT, stop);
      if (s >= 0) {
        let v = 0, k = s + SLOT.length, digits = 0;
        while (msg[k] === 32) k++;
        for (; digits < 12; k++, digits++) {
          const d = msg[k]! - 48;
          if (!(d >= 0 && d <= 9)) break;
          v = v * 10 + d;
        }
        if (digits > 0) out.slot = v;
      }
    }
  }
}

function alreadyHave(out: Labels, id: number): boolean {
  switch (id) {
    case K_TEAM:
      return out.team !== null;
    case K_MSG:
      return out.msgType !== null;
    case K_SENDER:
      return out.senderId !== null;
    case K_ELAPSED:
      return out.elapsed >= 0;
    case K_META:
      return out.metaTeam !== null || out.team !== null;
    default:
      return true;
  }
}
