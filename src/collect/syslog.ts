// Syslog over TCP: one SyslogFramer per connection (framing detected from each message's header),
// messages whose tag is not in --program are counted and dropped, the rest go to the intake.
// A message over --max-message-bytes or bytes that are no syslog close the connection (counted);
// a connection that ends mid-message writes nothing of that message.
//
// Reads: every socket of the listener reads into one shared 256 KiB buffer (net's `onread`),
// not into a fresh 64 KiB buffer per read: at 8 KB messages that was ~400 MB of short-lived
// external memory per 393 MB received, a V8 Mark-Compact every ~64 MB of it and half the
// process's CPU in the GC threads. The framer then copies whatever outlives a read (see
// SyslogFramer's `volatile`), and a connection's last message (for the re-send check) is copied
// into a buffer of its own at the end of the read.
import { createServer, type Server } from 'node:net';
import { kOnRead, READ_BYTES, readIntoShared, type ReadSocket } from './shared-read.js';
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
  const shared = Buffer.allocUnsafeSlow(READ_BYTES);
  let sharedReads = false;
  const server = createServer((sock: ReadSocket) => {
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
    const volatile = sharedReads;
    /** The connection's own copy of its last message (reused while it is big enough). */
    let own: Buffer | null = null;
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
    }, volatile);
    const onChunk = (chunk: Buffer): void => {
      if (!conn.open) return;
      now = Date.now();
      manager.activity(conn, chunk.length, now);
      intake.metrics.receivedBytesRaw.inc({ transport: 'syslog' }, chunk.length);
      try {
        try {
          framer.push(chunk);
        } finally {
          if (volatile && conn.lastBuf === chunk) {
            const len = conn.lastEnd - conn.lastStart;
            if (own === null || own.length < len) own = Buffer.allocUnsafeSlow(Math.max(len, 1024));
            chunk.copy(own, 0, conn.lastStart, conn.lastEnd);
            conn.lastBuf = own;
            conn.lastStart = 0;
            conn.lastEnd = len;
          }
        }
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
    };
    if (volatile) sock[kOnRead] = (n) => onChunk(shared.subarray(0, n));
    else sock.on('data', onChunk);
    sock.on('close', () => manager.release(conn, framer.end()));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port, backlog: 1024 }, () => {
      server.off('error', reject);
      sharedReads = readIntoShared(server, shared);
      resolve(server);
    });
  });
}
