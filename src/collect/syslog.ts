// Syslog over TCP: one SyslogFramer per connection (framing detected from each message's header),
// messages whose tag is not in --program are counted and dropped, the rest go to the intake.
// A message over --max-message-bytes or bytes that are no syslog close the connection (counted);
// a connection that ends mid-message writes nothing of that message.
import { createServer, type Server, type Socket } from 'node:net';
import type { ConnectionManager } from './connections.js';
import { FrameError, SyslogFramer, programList } from './framing.js';
import type { Intake } from './intake.js';

export interface SyslogOptions {
  host: string;
  port: number;
  programs: readonly string[];
  maxMessageBytes: number;
}

export function listenSyslog(opts: SyslogOptions, manager: ConnectionManager, intake: Intake): Promise<Server> {
  const programs = programList(opts.programs);
  const server = createServer((sock: Socket) => {
    const ip = sock.remoteAddress ?? '?';
    const port = sock.remotePort ?? 0;
    const conn = manager.admit(ip, port, 'syslog', {
      pause: () => sock.pause(),
      resume: () => sock.resume(),
      close: () => sock.destroy(),
    });
    sock.on('error', () => {
      // ECONNRESET and the like: 'close' follows and counts what was cut.
    });
    if (conn === null) {
      sock.destroy();
      return;
    }
    let now = Date.now();
    const framer = new SyslogFramer(opts.maxMessageBytes, programs, (buf, start, end, tagOk, framing) => {
      if (conn.framing === null) {
        conn.framing = framing;
        conn.hostname = framer.hostname;
      }
      if (!tagOk) {
        manager.refuseMessage(conn, 'program', `tag not in --program ${opts.programs.join(',')}`);
        return;
      }
      intake.message(conn, buf, now, start, end);
    });
    sock.on('data', (chunk: Buffer) => {
      if (!conn.open) return;
      now = Date.now();
      manager.activity(conn, chunk.length, now);
      intake.metrics.receivedBytesRaw.inc({ transport: 'syslog' }, chunk.length);
      try {
        framer.push(chunk);
        const held = framer.pendingBytes;
        if ((held !== 0 || conn.pending !== 0) && !manager.holding(conn, held)) return;
      } catch (e) {
        if (e instanceof FrameError) {
          manager.refuseConnection(ip, 'syslog', e.reason, e.message);
          manager.release(conn, framer.end());
          sock.destroy();
          return;
        }
        throw e;
      }
    });
    sock.on('close', () => manager.release(conn, framer.end()));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port, backlog: 1024 }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
