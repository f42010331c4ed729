// Turns a chunk of lines into JSONL bytes per table plus reject lines: the unit of work that
// runs either inline or in a worker thread, so both give byte-identical output.
import { BigStrings, LAZY_LINE_BYTES } from './bigstrings.js';
import type { TeamMap } from './envelope.js';
import { LineConverter, newCounters, processChunk, type Counters } from './convert.js';
import type { Chunk } from './reader.js';
import { TABLE_NAMES, type Row, type TableName } from './schema.js';

export interface SerializedChunk {
  /**
   * Whole JSONL lines per table, in input order; each Buffer owns its whole ArrayBuffer, except
   * for a chunk with huge lines, whose tables may come in pieces that are views of the chunk's
   * data (BigStrings#splice).
   */
  tables: [TableName, Buffer | Buffer[]][];
  rejects: Buffer;
  counters: Counters;
  /** Long strings of huge lines copied from the input instead of re-serialised (src/bigstrings.ts). */
  spliced: number;
}

const TABLE_INDEX = new Map<TableName, number>(TABLE_NAMES.map((t, i) => [t, i]));
const EMPTY = Buffer.alloc(0);
const NL = 10;
const SEPARATOR = Buffer.from(',{"');

/** A Buffer of the string's UTF-8 bytes from `from` on, never a slice of Node's shared pool. */
function ownBytes(s: string, from: number): Buffer {
  const text = from ? s.slice(from) : s;
  const b = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  b.write(text, 0);
  return b;
}

/**
 * The JSONL of rows: `JSON.stringify(rows)` is `[` + the rows' JSON joined by `,` + `]`, made in
 * one call instead of one per row and a join. Only the separators change to \n; they are found
 * as `,{"` followed by a key's first character. That pattern cannot occur inside a string: a `"`
 * inside one is escaped (preceded by `\`, not `{`), so that `"` would have to close the string,
 * and a closing quote is followed by `,`, `}`, `]` or `:`, never by a key's first character.
 * Rows are flat (every column is a scalar), so every `{` outside a string starts a row.
 */
export function rowsToJsonl(rows: readonly Row[]): Buffer {
  const b = ownBytes(JSON.stringify(rows), 1); // without the leading [
  const end = b.length - 1; // the closing ]
  for (let i = b.indexOf(SEPARATOR); i !== -1 && i < end; i = b.indexOf(SEPARATOR, i + 3)) {
    const c = b[i + 3];
    // not , } ] :
    if (c !== 0x2c && c !== 0x7d && c !== 0x5d && c !== 0x3a) b[i] = NL;
  }
  b[end] = NL;
  return b;
}

export class ChunkSerializer {
  private readonly conv: LineConverter;

  /**
   * `bigStrings: false` converts huge lines the ordinary way (with every string copy): the
   * output is the same bytes, only slower and larger in memory (the tests compare the two).
   */
  constructor(
    teams?: TeamMap,
    private readonly opts: { bigStrings?: boolean } = {},
  ) {
    this.conv = new LineConverter(teams);
  }

  run(chunk: Chunk): SerializedChunk {
    // Rows are collected per table (they are fresh objects per line) and serialised at the end.
    const byTable: Row[][] = TABLE_NAMES.map(() => []);
    const rejects: string[] = [];
    const counters = newCounters();
    // A chunk that can hold a huge line: such lines skip their string copies (src/bigstrings.ts).
    const big = this.opts.bigStrings !== false && chunk.data.length >= LAZY_LINE_BYTES ? new BigStrings(chunk.data) : undefined;
    processChunk(
      chunk,
      this.conv,
      {
        accept(_ref, tables, rows) {
          for (let i = 0; i < rows.length; i++) byTable[TABLE_INDEX.get(tables[i]!)!]!.push(rows[i]!);
        },
        reject(rec) {
          rejects.push(JSON.stringify(rec));
        },
      },
      counters,
      big,
    );
    // The converter's arrays still hold the chunk's last line; a line can be tens of megabytes.
    this.conv.release();
    const tables: [TableName, Buffer | Buffer[]][] = [];
    for (let t = 0; t < TABLE_NAMES.length; t++) {
      const rows = byTable[t]!;
      if (rows.length === 0) continue;
      const jsonl = rowsToJsonl(rows);
      tables.push([TABLE_NAMES[t]!, big?.size ? big.splice(jsonl) : jsonl]);
    }
    return { tables, rejects: rejects.length ? ownBytes(rejects.join('\n') + '\n', 0) : EMPTY, counters, spliced: big?.size ?? 0 };
  }
}
