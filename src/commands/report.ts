// `jam-etl report`: the implementer leaderboard from the DuckDB warehouse, as a terminal table,
// JSON, CSV or Markdown on stdout, and optionally a self-contained HTML page with charts.
import { writeFileSync, renameSync, rmSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { buildReport } from '../report/compute.js';
import { renderHtml } from '../report/html.js';
import { DEFAULT_MIN_SAMPLES } from '../report/model.js';
import { renderCsv, renderMarkdown, renderTable } from '../report/text.js';
import { SQL_FILES, Warehouse, sqlFor, type SqlFile } from '../report/warehouse.js';
import { DEFAULT_DB } from '../sinks/duckdb/warehouse.js';
import { ConfigError, describeError, UsageError } from '../errors.js';
import { EXIT_OK, intArg, pathArg, type CliIO } from './common.js';

export const FORMATS = ['table', 'json', 'csv', 'md'] as const;
type Format = (typeof FORMATS)[number];

interface ReportFlags {
  db: string;
  since?: Date;
  until?: Date;
  format: Format;
  html?: string;
  minSamples: number;
  printSql?: SqlFile;
}

function timeArg(name: string) {
  return (v: string): Date => {
    // RFC 3339 / ISO 8601 with a date; a time without a zone is read as UTC.
    if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(v)) throw new InvalidArgumentError(`${name} must be a time like 2025-04-24T23:40:00Z`);
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(v) || !/[T ]/.test(v) ? v : `${v}Z`;
    const d = new Date(zoned.replace(' ', 'T'));
    if (Number.isNaN(d.getTime())) throw new InvalidArgumentError(`${name} ${v} is not a time`);
    return d;
  };
}

export function registerReport(program: Command, io: CliIO): void {
  program
    .command('report')
    .description('the implementer leaderboard (timings per team and activity, scores, ranks, activity) from the DuckDB warehouse')
    .addOption(new Option('--db <file>', 'DuckDB warehouse written by jam-etl duckdb').argParser(pathArg('--db')).default(DEFAULT_DB))
    .addOption(new Option('--since <time>', 'only rows at or after this time (RFC 3339, UTC if no zone)').argParser(timeArg('--since')))
    .addOption(new Option('--until <time>', 'only rows before this time (exclusive)').argParser(timeArg('--until')))
    .addOption(new Option('--format <f>', 'what to print on stdout').choices(FORMATS).default('table'))
    .option('--html <file>', 'also write a self-contained HTML page with the leaderboard and charts')
    .addOption(new Option('--min-samples <n>', 'samples an activity needs to be scored').argParser(intArg('--min-samples', 1)).default(DEFAULT_MIN_SAMPLES))
    .addOption(new Option('--print-sql <name>', 'print that SQL file with the window written in (for jam-etl sql) and exit').choices(SQL_FILES))
    .action(async (o: ReportFlags) => {
      if (o.since && o.until && o.since.getTime() >= o.until.getTime()) throw new UsageError('--since must be before --until');
      if (o.printSql !== undefined) {
        io.stdout(sqlFor(o.printSql, { since: o.since, until: o.until }));
        io.setExitCode(EXIT_OK);
        return;
      }
      const w = await Warehouse.open(o.db);
      let report;
      try {
        report = await buildReport(w, { ...(o.since ? { since: o.since } : {}), ...(o.until ? { until: o.until } : {}), minSamples: o.minSamples });
      } finally {
        w.close();
      }
      if (o.html !== undefined) {
        const tmp = `${o.html}.tmp-${process.pid}`;
        try {
          writeFileSync(tmp, renderHtml(report));
          renameSync(tmp, o.html);
        } catch (e) {
          rmSync(tmp, { force: true });
          throw new ConfigError(`--html ${o.html}: ${describeError(e)}`);
        }
      }
      const text = o.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : o.format === 'csv' ? renderCsv(report) : o.format === 'md' ? renderMarkdown(report) : renderTable(report);
      io.stdout(text);
      io.setExitCode(EXIT_OK);
    });
}
