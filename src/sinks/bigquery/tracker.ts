// Acknowledgement tracking per input file. Rows of one line can travel in several batches (one
// per table, or split by size), and batches complete out of order; the file's acknowledged
// position may only move past a line once every row of that line AND of every line before it
// is acknowledged (stored or rejected). That position is what the state file records.
import type { FilePosition } from './state.js';

/** One line's rows still in flight (or a zero-row marker for blank and rejected lines). */
export interface Ticket {
  readonly file: FileTracker;
  pending: number;
  end: number;
  nextLine: number;
}

export class FileTracker {
  /** Everything before this position is acknowledged. */
  acked: FilePosition;
  /** Everything before this position has been read and handed on. */
  read: FilePosition;
  private queue: Ticket[] = [];
  private head = 0;

  constructor(
    readonly id: string,
    public path: string,
    start: FilePosition,
    private readonly onAdvance: (t: FileTracker) => void,
  ) {
    this.acked = { ...start };
    this.read = { ...start };
  }

  /** A line whose `rows` rows are now on their way. */
  lineTicket(end: number, nextLine: number, rows: number): Ticket {
    const t: Ticket = { file: this, pending: rows, end, nextLine };
    this.queue.push(t);
    return t;
  }

  /** Everything up to `pos` has been read; lines without rows in there need no acknowledgement. */
  markRead(pos: FilePosition): void {
    this.read = { ...pos };
    if (this.head === this.queue.length) {
      this.set(pos);
      return;
    }
    const last = this.queue[this.queue.length - 1]!;
    if (last.pending === 0) {
      last.end = pos.offset;
      last.nextLine = pos.line;
    } else {
      this.queue.push({ file: this, pending: 0, end: pos.offset, nextLine: pos.line });
    }
  }

  /** `n` rows of the ticket's line are acknowledged. */
  done(t: Ticket, n = 1): void {
    t.pending -= n;
    if (t.pending < 0) throw new Error(`internal: line ending at ${t.end} of ${this.path} acknowledged twice`);
    if (t.pending > 0 || this.queue[this.head] !== t) return;
    let last: Ticket | undefined;
    while (this.head < this.queue.length && this.queue[this.head]!.pending === 0) last = this.queue[this.head++];
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (last) this.set({ offset: last.end, line: last.nextLine });
  }

  /** True when nothing read is waiting for acknowledgement. */
  get settled(): boolean {
    return this.head === this.queue.length;
  }

  private set(pos: FilePosition): void {
    if (pos.offset === this.acked.offset && pos.line === this.acked.line) return;
    this.acked = { ...pos };
    this.onAdvance(this);
  }
}
