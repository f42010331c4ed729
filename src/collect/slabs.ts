// Copy buffers for the collector's writers (syslog minute files and JIP-3 captures): what the
// sockets deliver is copied into a slab, and the pieces of it handed to a write keep the slab
// until they are written. A slab no piece holds any more, once it is no longer being filled, goes
// back to a pool, so a steady load allocates no fresh memory (fresh external memory is what made
// V8 run a Mark-Compact every ~64 MB and fault in every 4 KiB page).

/** A copy buffer; `refs` pieces of it are queued or being written; `full` once no longer filled. */
export interface Slab {
  buf: Buffer;
  refs: number;
  full: boolean;
}

/** A piece of a slab handed to a write: release its slab once the piece is written. */
export interface SlabPiece {
  buf: Buffer;
  slab: Slab;
}

export class SlabArena {
  private readonly pool: Buffer[] = [];
  private cur: Slab;
  /** Where the bytes not yet taken start in the current slab. */
  private start = 0;
  /** The fill offset in `buf`: write at it, then advance it. */
  off = 0;

  /** Slabs of `size` bytes; at most `poolMax` idle ones kept. */
  constructor(
    private readonly size: number,
    private readonly poolMax: number,
  ) {
    this.cur = { buf: Buffer.allocUnsafeSlow(size), refs: 0, full: false };
  }

  /** The slab being filled. */
  get buf(): Buffer {
    return this.cur.buf;
  }

  fits(n: number): boolean {
    return this.off + n <= this.cur.buf.length;
  }

  /** The bytes written since the last take, as a piece holding its slab; null if none. */
  take(): SlabPiece | null {
    if (this.off === this.start) return null;
    const piece = { buf: this.cur.buf.subarray(this.start, this.off), slab: this.cur };
    this.cur.refs++;
    this.start = this.off;
    return piece;
  }

  /**
   * Goes on in a fresh slab with room for n bytes (from the pool when one fits). Take what was
   * written first: the bytes not taken are left behind.
   */
  renew(n: number): void {
    const old = this.cur;
    old.full = true;
    if (old.refs === 0) this.recycle(old);
    const reuse = n <= this.size ? this.pool.pop() : undefined;
    this.cur = { buf: reuse ?? Buffer.allocUnsafeSlow(Math.max(n, this.size)), refs: 0, full: false };
    this.start = this.off = 0;
  }

  /** A piece of `s` was written. */
  release(s: Slab): void {
    if (--s.refs === 0 && s.full) this.recycle(s);
  }

  private recycle(s: Slab): void {
    if (s.buf.length === this.size && this.pool.length < this.poolMax) this.pool.push(s.buf);
  }
}
