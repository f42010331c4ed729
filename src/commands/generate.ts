// `jam-etl generate`: deterministic, realistic sample telemetry (what logs/ ships, what the
// benchmark runs on) written as the collector's HHMM.log files.
import { type Command, Option } from 'commander';
import { generate } from '../generate/json-logs.js';
import { generateJip3 } from '../generate/jip3.js';
import { ConfigError } from '../errors.js';
import { EXIT_OK, intArg, type CliIO } from './common.js';

interface GenerateFlags {
  out: string;
  minutes: number;
  validators: number;
  cores: number;
  seed: string;
  start?: string;
  json: boolean;
  quiet: boolean;
  format: 'json' | 'jip3';
}

export function registerGenerate(program: Command, io: CliIO): void {
  program
    .command('generate')
    .description('write deterministic, realistic sample telemetry: JSON envelopes of all 9 message types as HHMM.log files, or JIP-3 captures (--format jip3)')
    .option('-o, --out <dir>', 'output folder', './logs')
    .addOption(new Option('--minutes <n>', 'minutes of telemetry (one file per minute)').argParser(intArg('--minutes', 1)).default(3))
    .addOption(new Option('--validators <n>', 'validators V (6 = tiny testnet, 1023 = full "toaster")').argParser(intArg('--validators', 1)).default(6))
    .addOption(new Option('--cores <n>', 'cores C (2 = tiny, 341 = full)').argParser(intArg('--cores', 1)).default(2))
    .option('--seed <s>', 'seed: the same options give the same bytes', '1')
    .option('--start <time>', 'simulated start time, RFC 3339 (default 2025-04-24T23:39:00Z)')
    .addOption(new Option('--format <f>', 'json: HHMM.log JSON envelopes; jip3: HHMM.jip3 JIP-3 capture files (docs/jip3.md), --validators nodes').choices(['json', 'jip3']).default('json'))
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('-q, --quiet', 'no summary on stderr', false)
    .action(async (o: GenerateFlags) => {
      if (o.validators > 1023 || o.cores > 341) throw new ConfigError('--validators is at most 1023 and --cores at most 341 (the full JAM network)');
      let start: Date | undefined;
      if (o.start !== undefined) {
        start = new Date(o.start);
        if (Number.isNaN(start.getTime())) throw new ConfigError(`--start ${o.start} is not a time`);
      }
      const t0 = performance.now();
      if (o.format === 'jip3') {
        let r;
        try {
          r = await generateJip3({ out: o.out, minutes: o.minutes, nodes: o.validators, cores: o.cores, seed: o.seed, ...(start ? { start } : {}) });
        } catch (e) {
          if (e instanceof RangeError || e instanceof TypeError) throw new ConfigError(e.message);
          throw e;
        }
        const secs = (performance.now() - t0) / 1000;
        if (o.json) io.stdout(JSON.stringify({ command: 'generate', format: 'jip3', ...r, seconds: secs }, null, 2) + '\n');
        if (!o.quiet) io.stderr(`generate: ${r.files.length} JIP-3 capture file(s), ${r.connections} connections, ${r.events} events (${Object.keys(r.byKind).length} kinds, ${r.dropped} dropped), ${(r.bytes / 1e6).toFixed(2)} MB in ${secs.toFixed(2)} s into ${o.out}\n`);
        io.setExitCode(EXIT_OK);
        return;
      }
      let res;
      try {
        res = await generate({ out: o.out, minutes: o.minutes, validators: o.validators, cores: o.cores, seed: o.seed, ...(start ? { start } : {}) });
      } catch (e) {
        if (e instanceof RangeError || e instanceof TypeError) throw new ConfigError(e.message);
        throw e;
      }
      const seconds = (performance.now() - t0) / 1000;
      if (o.json) io.stdout(JSON.stringify({ command: 'generate', ...res, seconds }, null, 2) + '\n');
      if (!o.quiet) {
        io.stderr(`generate: ${res.files.length} file(s), ${res.lines} lines, ${(res.bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s into ${o.out}\n`);
        io.stderr(`  by msg_type: ${Object.entries(res.byType).map(([k, v]) => `${k}×${v}`).join(' ')}\n`);
      }
      io.setExitCode(EXIT_OK);
    });
}
