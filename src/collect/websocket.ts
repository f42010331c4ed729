// WebSocket (`ws`): one JSON envelope per text message on path /submit. A binary message is
// refused (counted); a message over --max-message-bytes closes the connection (ws answers 1009),
// counted as message_too_long. UTF-8 is not validated (invalid bytes are kept: the ETL rejects
// them with file and line), and an LF in a message becomes a space so that it stays one line.
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ConnectionManager } from './connections.js';
import type { Intake } from './intake.js';

export interface WsOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
}

export function listenWebSocket(opts: WsOptions, manager: ConnectionManager, intake: Intake): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ host: opts.host, port: opts.port, path: '/submit', maxPayload: opts.maxMessageBytes, perMessageDeflate: false, clientTracking: false, skipUTF8Validation: true });
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
  return new Promise((resolve, reject) => {
    wss.once('error', reject);
    wss.once('listening', () => {
      wss.off('error', reject);
      resolve(wss);
    });
  });
}
