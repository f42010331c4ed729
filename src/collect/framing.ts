// Syslog-over-TCP framing: cuts one connection's byte stream into messages, whatever the sender.
// Each message's header says how it ends (detected per message, so a connection is free to
// mix them, though real senders never do):
//   - `LEN SP <PRI>…`            RFC 6587 octet counting: the frame is LEN bytes.
//   - `<PRI>2006-01-02T15:04:05Z host tag[pid]: msg\n`   Go log/syslog: the message ends at LF.
//   - `<PRI>Mmm dd hh:mm:ss host tag[pid]: msg`          Rust syslog Formatter3164: no terminator,
//   - `<PRI>1 ts host app procid msgid sd msg`           Rust syslog Formatter5424: no terminator:
//     the end of the JSON envelope ends the message (string/escape state and brace depth are
//     tracked from the message's first `{`). A body that does not start with `{` falls back to
//     ending at LF.
// Separators between messages (LF, CR, space, NUL) are skipped. The message text (what the
// files hold) is the syslog MSG part only, a leading UTF-8 BOM removed. A message never contains
// LF on disk: in the framings where it could (JSON-end, octet), an LF byte (only JSON
// whitespace in a valid envelope) becomes a space, so one message stays one line.
// The framer works on bytes (invalid UTF-8 passes through untouched: the ETL rejects it later).

import { COPY_BELOW } from './writer.js';

export type FramingName = 'go' | 'rfc3164' | 'rfc5424' | 'octet';

export type FrameErrorReason = 'message_too_long' | 'bad_frame';

export class FrameError extends Error {
  override name = 'FrameError';
  constructor(readonly reason: FrameErrorReason, message: string) {
    super(message);
  }
}

/**
 * Called once per whole message: its text is buf[start, end) (a range, not a copy or a view:
 * no allocation per message; valid only during the call unless the buffer is kept), whether its
 * tag is one we keep, and its framing.
 */
export type OnMessage = (buf: Buffer, start: number, end: number, tagOk: boolean, framing: FramingName) => void;

const LF = 10, CR = 13, SP = 32, NUL = 0, LT = 60, GT = 62, LBRACE = 123, RBRACE = 125, QUOTE = 34, BSLASH = 92, COLON = 58, LBRACKET = 91, RBRACKET = 93;
/** Longest syslog header (PRI to the start of MSG) we wait for before calling the stream garbage. */
const MAX_HEADER_BYTES = 4096;

const enum Mode {
  None,
  Lf,
  Json,
  Octet,
}

/** Tags to keep, as bytes, for comparing without making strings. */
export function programList(names: readonly string[]): Buffer[] {
  return names.filter((n) => n !== '').map((n) => Buffer.from(n, 'latin1'));
}

function tagMatches(buf: Buffer, start: number, end: number, programs: readonly Buffer[]): boolean {
  const len = end - start;
  for (const p of programs) {
    if (p.length !== len) continue;
    let ok = true;
    for (let i = 0; i < len; i++) {
      if (buf[start + i] !== p[i]) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 48 && b <= 57;
}

/** Header parse result (reused object: the hot path makes no garbage per message). */
interface Header {
  bodyStart: number;
  mode: Mode;
  framing: FramingName;
  tagOk: boolean;
  /** Octet counting: the frame's end offset in the buffer parsed. */
  frameEnd: number;
  hostStart: number;
  hostEnd: number;
}

export class SyslogFramer {
  /** The framing of the first message (for the node registry), null before one was seen. */
  framing: FramingName | null = null;
  /** The first message's HOSTNAME, as text (the node's name when it sends no sender_id). */
  hostname: string | null = null;

  private head: Buffer | null = null;
  private inBody = false;
  private mode = Mode.None;
  private curFraming: FramingName = 'go';
  private tagOk = false;
  private parts: Buffer[] = [];
  private partsLen = 0;
  // JSON-end state
  private started = false;
  private depth = 0;
  private inStr = false;
  private esc = false;
  // Octet counting: bytes of the frame still to come.
  private remaining = 0;
  private readonly h: Header = { bodyStart: 0, mode: Mode.None, framing: 'go', tagOk: false, frameEnd: 0, hostStart: 0, hostEnd: 0 };

  /**
   * `volatile`: the memory of every chunk pushed is reused as soon as push() returns (the
   * listener reads every socket into one buffer). Then whatever outlives the call is copied: an
   * unfinished header or message part, and a whole message long enough for the writer to keep by
   * reference instead of copying it (over COPY_BELOW). A message handed to onMessage may still be
   * a range of the chunk: valid during the call only.
   */
  constructor(
    private readonly maxMessageBytes: number,
    private readonly programs: readonly Buffer[],
    private readonly onMessage: OnMessage,
    private readonly volatile = false,
  ) {}

  private keep(b: Buffer): Buffer {
    return this.volatile ? Buffer.from(b) : b;
  }

  /** Bytes of a message begun but not finished (what a connection drop discards). */
  get pendingBytes(): number {
    return (this.head?.length ?? 0) + this.partsLen;
  }

  /** Feeds one read. Throws FrameError when the stream cannot go on (the connection is closed). */
  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.head !== null) {
      buf = Buffer.concat([this.head, chunk]);
      this.head = null;
    }
    let pos = 0;
    const n = buf.length;
    while (pos < n) {
      if (!this.inBody) {
        let b = buf[pos]!;
        while (b === LF || b === CR || b === SP || b === NUL) {
          if (++pos >= n) return;
          b = buf[pos]!;
        }
        const h = this.h;
        if (!this.parseHeader(buf, pos, h)) {
          if (n - pos > MAX_HEADER_BYTES) throw new FrameError('bad_frame', 'no syslog header in the first 4096 bytes');
          this.head = this.keep(pos === 0 ? buf : buf.subarray(pos));
          return;
        }
        if (this.framing === null) {
          this.framing = h.framing;
          this.hostname = h.hostEnd > h.hostStart ? buf.toString('latin1', h.hostStart, h.hostEnd) : null;
        }
        this.inBody = true;
        this.mode = h.mode;
        this.curFraming = h.framing;
        this.tagOk = h.tagOk;
        this.started = false;
        this.depth = 0;
        this.inStr = false;
        this.esc = false;
        pos = h.bodyStart;
        if (h.mode === Mode.Octet) {
          this.remaining = h.frameEnd - h.bodyStart;
          if (this.remaining > this.maxMessageBytes) this.tooLong(this.remaining);
          // A leading BOM inside the frame: counted in the frame, not part of the text.
          if (this.remaining >= 3 && buf[pos] === 0xef && buf[pos + 1] === 0xbb && buf[pos + 2] === 0xbf) {
            pos += 3;
            this.remaining -= 3;
          }
        }
        if (pos > n) throw new Error('framer: header past the buffer');
      }
      pos = this.scanBody(buf, pos);
    }
  }

  /** The stream ended (or dropped): returns the bytes of an unfinished message, which are discarded. */
  end(): number {
    const lost = this.pendingBytes;
    this.head = null;
    this.parts = [];
    this.partsLen = 0;
    this.inBody = false;
    return lost;
  }

  private addPart(p: Buffer): void {
    if (p.length === 0) return;
    this.parts.push(this.keep(p));
    this.partsLen += p.length;
  }

  private tooLong(len: number): never {
    throw new FrameError('message_too_long', `message longer than ${this.maxMessageBytes} bytes (${len}+ bytes)`);
  }

  /** The message ends at buf[e): joins it with its earlier parts (if any) and hands it on. */
  private finish(buf: Buffer, s: number, e: number, noLf: boolean): void {
    this.inBody = false;
    let b = buf, st = s, en = e;
    if (this.parts.length > 0) {
      if (e > s) this.parts.push(buf.subarray(s, e));
      b = Buffer.concat(this.parts, this.partsLen + e - s);
      st = 0;
      en = b.length;
      this.parts = [];
      this.partsLen = 0;
    } else if (this.volatile && e - s >= COPY_BELOW) {
      b = Buffer.from(buf.subarray(s, e));
      st = 0;
      en = b.length;
    }
    // Trailing CR/LF (of an octet frame, or a CR before Go's LF) is framing, not text.
    while (en > st && (b[en - 1] === LF || b[en - 1] === CR)) en--;
    if (!noLf) {
      if (en - st <= 2048) {
        for (let i = st; i < en; i++) if (b[i] === LF) b[i] = SP;
      } else {
        const v = b.subarray(st, en);
        for (let i = v.indexOf(LF); i !== -1; i = v.indexOf(LF, i + 1)) v[i] = SP;
      }
    }
    this.onMessage(b, st, en, this.tagOk, this.curFraming);
  }

  /** Consumes message body bytes from pos; returns the new position. */
  private scanBody(buf: Buffer, pos: number): number {
    const n = buf.length;
    switch (this.mode) {
      case Mode.Lf: {
        if (this.partsLen === 0 && buf[pos] === 0xef && buf[pos + 1] === 0xbb && buf[pos + 2] === 0xbf) pos += 3;
        const idx = buf.indexOf(LF, pos);
        if (idx < 0) {
          if (this.partsLen + n - pos > this.maxMessageBytes) this.tooLong(this.partsLen + n - pos);
          this.addPart(buf.subarray(pos));
          return n;
        }
        if (this.partsLen + idx - pos > this.maxMessageBytes) this.tooLong(this.partsLen + idx - pos);
        this.finish(buf, pos, idx, true);
        return idx + 1;
      }
      case Mode.Octet: {
        const avail = n - pos;
        if (avail < this.remaining) {
          this.addPart(buf.subarray(pos));
          this.remaining -= avail;
          return n;
        }
        const end = pos + this.remaining;
        this.remaining = 0;
        this.finish(buf, pos, end, false);
        return end;
      }
      case Mode.Json:
        return this.scanJson(buf, pos);
      default:
        throw new Error('framer: no mode');
    }
  }

  private scanJson(buf: Buffer, pos: number): number {
    const n = buf.length;
    let i = pos;
    let start = pos;
    if (!this.started) {
      // Skip spaces and a BOM before the envelope; anything else means "not JSON": end at LF.
      while (i < n) {
        const b = buf[i]!;
        if (b === SP || b === CR || b === 9) i++;
        else if (b === 0xef && this.partsLen === 0) {
          if (i + 3 > n) {
            // Need the whole BOM to decide: keep these bytes for the next read.
            this.head = this.keep(buf.subarray(i));
            return n;
          }
          if (buf[i + 1] === 0xbb && buf[i + 2] === 0xbf) i += 3;
          else break;
        } else break;
      }
      if (i >= n) {
        this.parts = [];
        this.partsLen = 0;
        return n;
      }
      if (buf[i] !== LBRACE) {
        this.mode = Mode.Lf;
        this.parts = [];
        this.partsLen = 0;
        return this.scanBody(buf, i);
      }
      this.parts = [];
      this.partsLen = 0;
      this.started = true;
      this.depth = 1;
      start = i;
      i++;
    }
    let depth = this.depth;
    let inStr = this.inStr;
    if (inStr && this.esc && i < n) {
      // The previous read ended on a backslash inside a string: this byte is escaped.
      i++;
      this.esc = false;
    }
    while (i < n) {
      if (inStr) {
        const q = buf.indexOf(QUOTE, i);
        if (q < 0) {
          // Rest of the read is inside the string: does it end on an odd run of backslashes?
          let k = n - 1, bs = 0;
          while (k >= i && buf[k] === BSLASH) {
            bs++;
            k--;
          }
          this.esc = (bs & 1) === 1;
          i = n;
          break;
        }
        let k = q - 1, bs = 0;
        while (k >= i && buf[k] === BSLASH) {
          bs++;
          k--;
        }
        i = q + 1;
        if ((bs & 1) === 0) inStr = false;
        continue;
      }
      const b = buf[i]!;
      if (b === QUOTE) inStr = true;
      else if (b === LBRACE) depth++;
      else if (b === RBRACE) {
        if (--depth === 0) {
          const end = i + 1;
          if (this.partsLen + end - start > this.maxMessageBytes) this.tooLong(this.partsLen + end - start);
          this.depth = 0;
          this.inStr = false;
          this.finish(buf, start, end, false);
          return end;
        }
      }
      i++;
    }
    this.depth = depth;
    this.inStr = inStr;
    if (this.partsLen + n - start > this.maxMessageBytes) this.tooLong(this.partsLen + n - start);
    this.addPart(buf.subarray(start));
    return n;
  }

  /**
   * Parses a message header at p (a digit: octet count; `<`: syslog header). False when more bytes
   * are needed. Throws FrameError on bytes that are no syslog at all.
   */
  private parseHeader(buf: Buffer, p: number, h: Header): boolean {
    const n = buf.length;
    let i = p;
    let limit = n;
    let octet = false;
    if (isDigit(buf[i])) {
      let len = 0, digits = 0;
      while (i < n && isDigit(buf[i])) {
        len = len * 10 + (buf[i]! - 48);
        if (++digits > 10) throw new FrameError('bad_frame', 'octet count too long');
        i++;
      }
      if (i >= n) return false;
      if (buf[i] !== SP) throw new FrameError('bad_frame', 'octet count not followed by a space');
      i++;
      if (len > this.maxMessageBytes + MAX_HEADER_BYTES) this.tooLong(len);
      octet = true;
      h.frameEnd = i + len;
      limit = Math.min(n, h.frameEnd);
    }
    // An empty octet frame is a message with no tag (i is at most frameEnd here).
    if (i >= limit) return this.needMore(octet, h, i);
    if (buf[i] !== LT) throw new FrameError('bad_frame', octet ? 'octet-counted frame without <PRI>' : `not syslog: byte 0x${buf[i]!.toString(16)} where <PRI> was expected`);
    i++;
    let pri = 0;
    while (i < limit && isDigit(buf[i])) {
      pri = pri * 10 + buf[i]! - 48;
      i++;
      if (i - p > 16) throw new FrameError('bad_frame', 'bad <PRI>');
    }
    if (i >= limit) return this.needMore(octet, h, i);
    if (buf[i] !== GT || pri > 191) throw new FrameError('bad_frame', 'bad <PRI>');
    i++;
    if (i + 1 >= limit) return this.needMore(octet, h, i);
    let framing: FramingName;
    let tagStart = 0, tagEnd = 0, hostStart = 0, hostEnd = 0;
    if (buf[i] === 49 /* 1 */ && buf[i + 1] === SP) {
      // RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
      framing = 'rfc5424';
      i += 2;
      const fields: number[] = [];
      for (let f = 0; f < 5; f++) {
        const s = i;
        while (i < limit && buf[i] !== SP) i++;
        if (i >= limit) return this.needMore(octet, h, i);
        fields.push(s, i);
        i++;
      }
      hostStart = fields[2]!;
      hostEnd = fields[3]!;
      tagStart = fields[4]!;
      tagEnd = fields[5]!;
      // STRUCTURED-DATA: "-" or one or more [id param="value"...] (values escape ] " \).
      if (i >= limit) return this.needMore(octet, h, i);
      if (buf[i] === 45 /* - */) i++;
      else if (buf[i] === LBRACKET) {
        while (i < limit && buf[i] === LBRACKET) {
          let q = false;
          i++;
          while (i < limit) {
            const b = buf[i]!;
            if (q) {
              if (b === BSLASH) i++;
              else if (b === QUOTE) q = false;
            } else if (b === QUOTE) q = true;
            else if (b === RBRACKET) break;
            i++;
          }
          if (i >= limit) return this.needMore(octet, h, i);
          i++; // ]
        }
      } else throw new FrameError('bad_frame', 'RFC 5424 header without structured data');
      if (i < limit && buf[i] === SP) i++;
      else if (i >= limit && !(octet && i >= h.frameEnd)) return false;
    } else {
      if (isDigit(buf[i])) {
        framing = 'go'; // RFC 3339 timestamp
        while (i < limit && buf[i] !== SP) i++;
        if (i >= limit) return this.needMore(octet, h, i);
        i++;
      } else {
        framing = 'rfc3164'; // Mmm dd hh:mm:ss (day zero- or space-padded)
        i += 3;
        while (i < limit && buf[i] === SP) i++;
        while (i < limit && buf[i] !== SP) i++; // day
        i++;
        while (i < limit && buf[i] !== SP) i++; // time
        if (i >= limit) return this.needMore(octet, h, i);
        i++;
      }
      // [HOSTNAME SP] TAG[PID]: — a first token with [ or : is the tag itself (no hostname).
      const s1 = i;
      while (i < limit && buf[i] !== SP && buf[i] !== LBRACKET && buf[i] !== COLON) i++;
      if (i >= limit) return this.needMore(octet, h, i);
      if (buf[i] === SP) {
        hostStart = s1;
        hostEnd = i;
        i++;
        tagStart = i;
        while (i < limit && buf[i] !== SP && buf[i] !== LBRACKET && buf[i] !== COLON) i++;
        if (i >= limit) return this.needMore(octet, h, i);
      } else tagStart = s1;
      tagEnd = i;
      if (buf[i] === LBRACKET) {
        while (i < limit && buf[i] !== RBRACKET) i++;
        if (i >= limit) return this.needMore(octet, h, i);
        i++;
      }
      if (i >= limit) return this.needMore(octet, h, i);
      if (buf[i] === COLON) {
        i++;
        if (i >= limit) {
          if (!(octet && i >= h.frameEnd)) return false;
        } else if (buf[i] === SP) i++;
      }
      // A tag followed by SP but no colon: the message starts there (lenient, as syslog-ng is).
      else if (buf[i] === SP) i++;
    }
    h.bodyStart = i;
    h.framing = octet ? 'octet' : framing;
    h.mode = octet ? Mode.Octet : framing === 'go' ? Mode.Lf : Mode.Json;
    h.tagOk = tagMatches(buf, tagStart, tagEnd, this.programs);
    h.hostStart = hostStart;
    h.hostEnd = hostEnd;
    return true;
  }

  /** Inside an octet frame that ended before its header did: the frame is a message with no tag. */
  private needMore(octet: boolean, h: Header, i: number): boolean {
    if (octet && i >= h.frameEnd) {
      h.bodyStart = h.frameEnd;
      h.mode = Mode.Octet;
      h.framing = 'octet';
      h.tagOk = false;
      h.hostStart = h.hostEnd = 0;
      return true;
    }
    return false;
  }
}
