// Turns a chunk of lines into JSONL text per table plus reject lines: the unit of work that
// runs either inline or in a worker thread, so both give byte-identical output.
import type { TeamMap } from './envelope.js';
import { LineConverter, newCounters, processChunk, type Counters } from './convert.js';
import type { Chunk } from './reader.js';
import type { TableName } from './schema.js';

export interface SerializedChunk {
  tables: [TableName, string][];
  rejects: string;
  counters: Counters;
}

export class ChunkSerializer {
  private readonly conv: LineConverter;

  constructor(teams?: TeamMap) {
    this.conv = new LineConverter(teams);
  }

  run(chunk: Chunk): SerializedChunk {
    const out = new Map<TableName, string[]>();
    const rejects: string[] = [];
    const counters = newCounters();
    processChunk(
      chunk,
      this.conv,
      {
        accept(_ref, tables, rows) {
          for (let i = 0; i < rows.length; i++) {
            const t = tables[i]!;
            let parts = out.get(t);
            if (!parts) out.set(t, (parts = []));
            parts.push(JSON.stringify(rows[i]));
          }
        },
        reject(rec) {
          rejects.push(JSON.stringify(rec));
        },
      },
      counters,
    );
    const tables: [TableName, string][] = [];
    for (const [t, parts] of out) tables.push([t, parts.join('\n') + '\n']);
    return { tables, rejects: rejects.length ? rejects.join('\n') + '\n' : '', counters };
  }
}
