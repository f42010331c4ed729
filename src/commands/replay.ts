// `jam-etl replay`: send the lines of .log files to a collector as nodes would (K connections,
// a sender's framing), to test a collector; the tests and the benchmark use it too.
import { type Command, Option } from 'commander';
import { isJip3Path, listLogFiles } from '../input/list.js';
import { parseHostPort } from '../collect/collector.js';
import { REPLAY_FRAMINGS, replay, type ReplayFraming } from '../collect/replay.js';
import { ConfigError, describeError } from '../errors.js';
import { replayJip3 } from '../collect/jip3-replay.js';
import { EXIT_OK, intArg, type CliIO } from './common.js';

interface ReplayFlags {
  to: string;
  framing: ReplayFraming | 'jip3';
  rate: number;
  nodes: number;
  program: string;
  hostname?: string;
  json: boolean;
  quiet: boolean;
}

export function registerReplay(program: Command, io: CliIO): void {
  program
    .command('replay')
    .description('send the lines of .log files to a collector as nodes would (K connections, a syslog framing or WebSocket), or .jip3 captures with --framing jip3')
    .argument('[paths...]', '.log files (.jip3 with --framing jip3) or folders', ['./logs'])
    .requiredOption('--to <host:port>', 'the collector (syslog TCP, or WebSocket with --framing ws)')
    .addOption(new Option('--framing <f>', 'go: Go log/syslog (LF); rust3164 / rfc5424: Rust syslog crate (no terminator); octet: RFC 6587 octet counting; ws: WebSocket /submit; jip3: the .jip3 capture files, one connection per captured node connection (collect --jip3)').choices([...REPLAY_FRAMINGS, 'jip3']).default('go'))
    .addOption(new Option('--rate <n>', 'messages per second over all connections (0: as fast as possible)').argParser(intArg('--rate', 0)).default(0))
    .addOption(new Option('--nodes <k>', 'concurrent connections (a sender_id always uses the same one)').argParser(intArg('--nodes', 1)).default(1))
    .option('--program <tag>', 'syslog tag', 'jamtart')
    .option('--hostname <name>', 'syslog HOSTNAME field (default: this host)')
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('-q, --quiet', 'no summary on stderr', false)
    .action(async (paths: string[], o: ReplayFlags) => {
      let to;
      try {
        to = parseHostPort(o.to, '--to');
      } catch (e) {
        // A ConfigError, not commander's InvalidArgumentError: thrown from an action, that one
        // is taken for a message commander already printed, and the run ended silently.
        throw new ConfigError((e as Error).message);
      }
      // Each framing sends one kind of file: say what the other kind is skipped, and refuse a
      // run that would send nothing (it used to end "0 lines", exit 0).
      const listed = await listLogFiles(paths);
      const jip3Files = listed.filter((f) => isJip3Path(f.path)).length;
      const [sent, skipped, skippedKind, hint] = o.framing === 'jip3' ? [jip3Files, listed.length - jip3Files, '.log', 'a line framing (--framing go, ...)'] : [listed.length - jip3Files, jip3Files, '.jip3', '--framing jip3'];
      if (sent === 0) throw new ConfigError(`no ${o.framing === 'jip3' ? '.jip3' : '.log'} files under ${paths.join(', ')} for --framing ${o.framing} (the ${skippedKind} files there need ${hint})`);
      if (skipped > 0 && !o.quiet) io.stderr(`replay: skipping ${skipped} ${skippedKind} file(s): they need ${hint}\n`);
      if (/\s/.test(o.program) || o.program === '') throw new ConfigError('--program must be one word');
      let res;
      try {
        res = o.framing === 'jip3' ? await replayJip3(paths, to) : await replay({ paths, to, framing: o.framing, rate: o.rate, nodes: o.nodes, program: o.program, ...(o.hostname ? { hostname: o.hostname } : {}) });
      } catch (e) {
        if (e instanceof ConfigError) throw e;
        throw new ConfigError(`replay to ${o.to} failed: ${describeError(e)}`);
      }
      if (o.json) io.stdout(JSON.stringify({ command: 'replay', framing: o.framing, ...res }, null, 2) + '\n');
      if (!o.quiet) io.stderr(`replay: ${res.lines} lines (${(res.bytes / 1e6).toFixed(1)} MB) from ${res.files} file(s) over ${res.connections} connection(s), ${o.framing}, in ${res.seconds.toFixed(2)} s\n`);
      io.setExitCode(EXIT_OK);
    });
}
