// Growable byte output for one chunk's table: lines are encoded into it as they are made, so no
// line string outlives its event (kept in an array until the chunk's end, they were promoted out
// of the young generation and the collector copied them: a quarter of the decoding time).
import { rowsToJsonl } from '../pipeline/serialize.js';
import type { Row } from '../tables/schema.js';

export class ByteOut {
  private buf: Buffer;
  len = 0;
  constructor(initial = 1 << 16) {
    this.buf = Buffer.allocUnsafeSlow(initial);
  }

  private grow(room: number): void {
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.len + room, this.buf.length * 2));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }

  /** Appends the UTF-8 of `s`. */
  str(s: string): void {
    // Three bytes per UTF-16 unit at most.
    if (this.buf.length - this.len < s.length * 3) this.grow(s.length * 3);
    this.len += this.buf.write(s, this.len);
  }

  bytes(b: Buffer): void {
    if (this.buf.length - this.len < b.length) this.grow(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }

  /** The bytes so far in a Buffer owning its whole ArrayBuffer (it may move to another thread); resets. */
  take(): Buffer {
    const own = Buffer.allocUnsafeSlow(this.len);
    this.buf.copy(own, 0, 0, this.len);
    this.len = 0;
    return own;
  }
}

/** Rows of one table serialized in batches as they come (rows do not pile up until the chunk's end). */
export class RowBatcher {
  private rows: Row[] = [];
  readonly out = new ByteOut();
  count = 0;
  constructor(private readonly batch = 256) {}

  push(r: Row): void {
    this.rows.push(r);
    this.count++;
    if (this.rows.length >= this.batch) this.flush();
  }

  flush(): void {
    if (this.rows.length === 0) return;
    this.out.bytes(rowsToJsonl(this.rows));
    this.rows.length = 0;
  }
}
