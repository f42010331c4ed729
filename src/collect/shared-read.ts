// Reading every socket of a listener into one shared buffer (net's `onread`) instead of a fresh
// 64 KiB Buffer per read: at high rates those buffers were most of the collector's garbage
// (a V8 Mark-Compact every ~64 MB received, half the CPU in the GC threads). Whoever reads from
// the shared buffer must copy what outlives the read callback. Used by the syslog and JIP-3
// listeners.
import { Socket, type Server } from 'node:net';

export const READ_BYTES = 256 << 10;
/** The per-socket read handler (set by the connection listener, which runs before any read). */
export const kOnRead = Symbol('jam-etl.onread');
export type ReadSocket = Socket & { [kOnRead]?: (n: number) => void };

/**
 * net.Server has no `onread` option (only a client Socket has): accept connections ourselves,
 * as net's own onconnection does, but with `onread` reading into `shared`. False when this
 * Node's internals differ (the listener then reads the ordinary way).
 */
export function readIntoShared(server: Server, shared: Buffer): boolean {
  const s = server as unknown as { _handle?: { onconnection?: unknown }; _connections: number; allowHalfOpen?: boolean; maxConnections?: number };
  const h = s._handle;
  if (h === undefined || h === null || typeof h.onconnection !== 'function' || typeof s._connections !== 'number') return false;
  h.onconnection = (err: number, clientHandle: { close(): void } | undefined) => {
    if (err || clientHandle === undefined) {
      server.emit('error', new Error(`accept failed (${err})`));
      return;
    }
    if (s.maxConnections && s._connections >= s.maxConnections) {
      clientHandle.close();
      return;
    }
    const sock: ReadSocket = new Socket({
      handle: clientHandle,
      allowHalfOpen: s.allowHalfOpen ?? false,
      readable: true,
      writable: true,
      onread: {
        buffer: shared,
        callback: (n: number) => {
          sock[kOnRead]?.(n);
        },
      },
    } as ConstructorParameters<typeof Socket>[0]);
    s._connections++;
    (sock as unknown as { server: Server; _server: Server }).server = server;
    (sock as unknown as { _server: Server })._server = server;
    server.emit('connection', sock);
  };
  return true;
}
