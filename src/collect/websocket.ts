// WebSocket (`ws`): one JSON envelope per text message on path /submit. A binary message is
// refused (counted); a message over --max-message-bytes closes the connection (ws answers 1009),
// counted as message_too_long. UTF-8 is not validated (invalid bytes are kept: the ETL rejects
// them with file and line), and an LF in a message becomes a space so that it stays one line.
// The HTTP server is ours, not ws's own, so that what never becomes a WebSocket (bytes that are
// not HTTP, a plain request, a wrong path, a bad handshake) is counted and logged like every other
// refusal instead of being answered out of sight.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as Ws from 'ws';
import type { WebSocket } from 'ws';
import { lazy } from '../lazy.js';

const wsLib = lazy<typeof Ws>('ws');
import type { ConnectionManager } from './connections.js';
import type { Intake } from './intake.js';

export interface WsOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
}

/** The listener as the collector sees it: where it listens, and how to stop it. */
export interface WsListener {
  address(): AddressInfo | string | null;
  close(cb?: () => void): void;
}

export function listenWebSocket(opts: WsOptions, manager: ConnectionManager, intake: Intake): Promise<WsListener> {
  const server = createServer((req, res) => {
    manager.refuseConnection(req.socket.remoteAddress ?? '?', 'ws', 'ws_not_upgrade', `${req.method ?? '?'} ${req.url ?? ''} without a WebSocket upgrade`);
    res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
    res.end('use a WebSocket on /submit\n');
  });
  server.on('clientError', (err: Error & { code?: string }, socket) => {
    manager.refuseConnection((socket as { remoteAddress?: string }).remoteAddress ?? '?', 'ws', 'ws_bad_request', err.code ?? err.message);
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    socket.destroy();
  });
  // Runs before ws's own upgrade handler, which answers a wrong path with 400 and says nothing.
  server.on('upgrade', (req: IncomingMessage) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/submit') manager.refuseConnection(req.socket.remoteAddress ?? '?', 'ws', 'ws_bad_path', `upgrade on ${path}`);
  });
  const wss = new (wsLib().WebSocketServer)({ server, path: '/submit', maxPayload: opts.maxMessageBytes, perMessageDeflate: false, clientTracking: false, skipUTF8Validation: true });
  wss.on('wsClientError', (err: Error, socket, req: IncomingMessage) => {
    manager.refuseConnection(req.socket.remoteAddress ?? '?', 'ws', 'ws_bad_handshake', err.message);
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    socket.destroy();
  });
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const sock = req.socket;
    const ip = sock.remoteAddress ?? '?';
    const conn = manager.admit(ip, sock.remotePort ?? 0, 'ws', {
      pause: () => ws.pause(),
      resume: () => ws.resume(),
      close: () => ws.terminate(),
    });
    if (conn === null) {
      ws.close(1013, 'too many connections');
      return;
    }
    conn.framing = 'ws';
    sock.on('data', (chunk: Buffer) => {
      manager.activity(conn, chunk.length, Date.now());
      intake.metrics.receivedBytesRaw.inc({ transport: 'ws' }, chunk.length);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!conn.open) return;
      if (isBinary) {
        manager.refuseMessage(conn, 'ws_binary', 'only text messages carry envelopes');
        return;
      }
      const msg = Array.isArray(data) ? Buffer.concat(data as Buffer[]) : data;
      for (let i = msg.indexOf(10); i !== -1; i = msg.indexOf(10, i + 1)) msg[i] = 32;
      let e = msg.length;
      while (e > 0 && (msg[e - 1] === 32 || msg[e - 1] === 13)) e--;
      intake.message(conn, msg, Date.now(), 0, e);
    });
    ws.on('error', (err: Error & { code?: string }) => {
      const reason = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'message_too_long' : 'bad_frame';
      manager.refuseConnection(ip, 'ws', reason, err.message);
    });
    ws.on('close', () => manager.release(conn, 0));
  });
  const listener: WsListener = {
    address: () => server.address(),
    close: (cb) => {
      wss.close();
      server.close(() => cb?.());
      server.closeIdleConnections();
    },
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve(listener);
    });
  });
}
