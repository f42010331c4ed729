// The JSONL export (`jam-etl dune`) as a Sink: no resume (every run rewrites the whole export),
// all or nothing (src/sinks/jsonl/jsonl.ts writes temporary files and renames them at commit).
import type { TableName } from '../../tables/schema.js';
import type { ResumePositions, Sink, SinkBatch, SinkResult } from '../sink.js';
import { JsonlSink } from './jsonl.js';

export class JsonlExportSink implements Sink {
  readonly name = 'jsonl';
  readonly resumable = false;
  private files: JsonlSink | undefined;
  private readonly rows = new Map<TableName, number>();

  constructor(
    readonly outDir: string,
    readonly rejectsPath: string,
  ) {}

  async open(): Promise<ResumePositions> {
    this.files = new JsonlSink(this.outDir, this.rejectsPath);
    return new Map();
  }

  write(batch: SinkBatch): Promise<void> | undefined {
    const f = this.files!;
    for (const [t, text] of batch.tables) {
      f.write(t, text);
      this.rows.set(t, (this.rows.get(t) ?? 0) + batch.counters.rows[t]);
    }
    f.writeRejects(batch.rejects);
    return f.ready();
  }

  async commit(): Promise<SinkResult> {
    const c = await this.files!.commit();
    const outputs = c.tables.map((t) => ({ table: t.table, path: t.path, bytes: t.bytes }));
    return {
      tables: c.tables.map((t) => ({ table: t.table, rows: this.rows.get(t.table) ?? 0, bytes: t.bytes, location: t.path })),
      rejects: c.rejects,
      extra: { out: this.outDir, outputs, rejects_file: c.rejects ?? null },
    };
  }

  async abort(): Promise<void> {
    await this.files?.abort();
  }
}
