// A small fetch client for Dune's uploads API (POST /v1/uploads, .../insert, .../clear, DELETE).
//
// Why not @duneanalytics/client-sdk: its Router hard-codes `BASE_URL = "https://api.dune.com/api"`, so
// it cannot be pointed at a local test server (DUNE_API_URL); its insert takes the whole body as one
// `Buffer` argument (`InsertTableArgs.data: Buffer`) and its types only know `rows_written`; and a
// non-2xx answer becomes a generic `DuneError("HTTP - Status: ..., Message: ...")` with no retry, no
// Retry-After handling and no status code to branch on. Uploading gigabytes under Dune's low rate
// limits needs exactly those, and the raw API is four endpoints, so owning ~200 lines is cheaper.
//
// Response shapes are Dune's documented ones (docs.dune.com/api-reference/tables/endpoint/uploads-*).
import { setTimeout as delay } from 'node:timers/promises';

export const DEFAULT_DUNE_API_URL = 'https://api.dune.com/api';

export interface DuneColumnSpec {
  name: string;
  type: string;
  nullable?: boolean;
}

export interface CreateTableRequest {
  namespace: string;
  table_name: string;
  description?: string;
  is_private?: boolean;
  schema: DuneColumnSpec[];
}

/** POST /v1/uploads: 201 when created, 200 with already_existed when an identical table exists. */
export interface CreateTableResponse {
  namespace: string;
  table_name: string;
  full_name: string;
  example_query: string;
  already_existed: boolean;
  message: string;
}

/** POST /v1/uploads/{namespace}/{table}/insert. */
export interface InsertResponse {
  name?: string;
  rows_written: number;
  bytes_written: number;
}

/** POST .../clear and DELETE /v1/uploads/{namespace}/{table}. */
export interface MessageResponse {
  message: string;
}

export interface RetryInfo {
  method: string;
  /** Path below the base URL, e.g. /v1/uploads/me/blocks/insert. */
  path: string;
  /** 1 for the first retry. */
  attempt: number;
  maxRetries: number;
  delayMs: number;
  /** HTTP status that caused the retry; undefined for a network error. */
  status?: number;
  reason: string;
}

export interface DuneClientOptions {
  apiKey: string;
  /** Default: env DUNE_API_URL, else https://api.dune.com/api. */
  baseUrl?: string;
  /** Retries after the first attempt for 429, 5xx and network errors. Default 5. */
  maxRetries?: number;
  /** First backoff step when Dune gives no Retry-After. Default 1000 ms. */
  retryBaseMs?: number;
  /** Longest single wait; a Retry-After beyond it fails the request instead of sleeping. Default 120 s. */
  maxRetryDelayMs?: number;
  /** Per-attempt timeout. Default 10 minutes (a 64 MiB insert on a slow uplink). */
  timeoutMs?: number;
  onRetry?: (info: RetryInfo) => void;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Injectable for tests. */
  fetch?: typeof fetch;
}

/** A request Dune refused, or that never got an answer (status 0). `message` is Dune's error text. */
export class DuneApiError extends Error {
  readonly status: number;
  readonly method: string;
  readonly path: string;
  /** Attempts made, including the first. */
  readonly attempts: number;
  /** Parsed response body, when there was one. */
  readonly body: unknown;
  /** How long Dune asked us to wait (Retry-After), in ms, when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(init: {
    status: number;
    message: string;
    method: string;
    path: string;
    attempts: number;
    body?: unknown;
    retryAfterMs?: number;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'DuneApiError';
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.attempts = init.attempts;
    this.body = init.body;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** 401/403: the key is missing, wrong, lacks write scope or may not use the namespace. Nothing else will work either. */
export class DuneAuthError extends DuneApiError {
  constructor(init: ConstructorParameters<typeof DuneApiError>[0]) {
    super(init);
    this.name = 'DuneAuthError';
  }
}

/** Parses Retry-After (delta-seconds or HTTP-date) into milliseconds from now. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Pulls Dune's error text out of a response body: {"error": "..."} or {"error": {"type"|"message": ...}}. */
function errorText(body: unknown, raw: string, status: number): string {
  if (body && typeof body === 'object') {
    const e = (body as Record<string, unknown>).error ?? (body as Record<string, unknown>).message;
    if (typeof e === 'string' && e) return e;
    if (e && typeof e === 'object') {
      const inner = (e as Record<string, unknown>).message ?? (e as Record<string, unknown>).type;
      if (typeof inner === 'string' && inner) return inner;
    }
  }
  const trimmed = raw.trim();
  return trimmed ? trimmed.slice(0, 500) : `HTTP ${status}`;
}

const isRetryableStatus = (s: number): boolean => s === 429 || s >= 500;

export class DuneClient {
  // Private so that logging or inspecting the client never prints the key.
  readonly #apiKey: string;
  readonly baseUrl: string;
  readonly maxRetries: number;
  readonly #retryBaseMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #timeoutMs: number;
  readonly #onRetry: ((info: RetryInfo) => void) | undefined;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #fetch: typeof fetch;

  constructor(opts: DuneClientOptions) {
    this.#apiKey = opts.apiKey;
    this.baseUrl = (opts.baseUrl ?? process.env.DUNE_API_URL ?? DEFAULT_DUNE_API_URL).replace(/\/+$/, '');
    this.maxRetries = opts.maxRetries ?? 5;
    this.#retryBaseMs = opts.retryBaseMs ?? 1000;
    this.#maxRetryDelayMs = opts.maxRetryDelayMs ?? 120_000;
    this.#timeoutMs = opts.timeoutMs ?? 600_000;
    this.#onRetry = opts.onRetry;
    this.#sleep = opts.sleep ?? ((ms) => delay(ms));
    this.#fetch = opts.fetch ?? fetch;
  }

  /** POST /v1/uploads. A 409 (same name, other schema) surfaces as DuneApiError with status 409. */
  createTable(req: CreateTableRequest): Promise<CreateTableResponse> {
    const body = {
      namespace: req.namespace,
      table_name: req.table_name,
      description: req.description ?? '',
      is_private: req.is_private ?? false,
      schema: req.schema,
    };
    return this.#request<CreateTableResponse>('POST', '/v1/uploads', JSON.stringify(body), 'application/json');
  }

  /**
   * POST .../insert with an NDJSON (or CSV) body. Dune applies a request all or nothing, so a retried
   * 429/5xx cannot double rows; a connection lost after Dune committed could, which is the price of
   * retrying network errors at all.
   */
  insert(
    namespace: string,
    table: string,
    body: Buffer | Uint8Array,
    opts: { contentType?: 'application/x-ndjson' | 'text/csv' } = {},
  ): Promise<InsertResponse> {
    return this.#request<InsertResponse>('POST', `${tablePath(namespace, table)}/insert`, body, opts.contentType ?? 'application/x-ndjson');
  }

  /** POST .../clear: removes all rows, keeps the table. */
  clear(namespace: string, table: string): Promise<MessageResponse> {
    return this.#request<MessageResponse>('POST', `${tablePath(namespace, table)}/clear`);
  }

  /** DELETE /v1/uploads/{namespace}/{table}. */
  drop(namespace: string, table: string): Promise<MessageResponse> {
    return this.#request<MessageResponse>('DELETE', tablePath(namespace, table));
  }

  #backoffMs(retry: number): number {
    // "Equal jitter": never retry instantly, but spread clients that failed together.
    const cap = Math.min(this.#maxRetryDelayMs, this.#retryBaseMs * 2 ** (retry - 1));
    return Math.round(cap / 2 + Math.random() * (cap / 2));
  }

  /** Dune's error texts should never contain the key, but a message we did not write gets scrubbed anyway. */
  #redact(text: string): string {
    return this.#apiKey ? text.split(this.#apiKey).join('***') : text;
  }

  async #request<T>(method: string, path: string, body?: string | Uint8Array, contentType?: string): Promise<T> {
    const url = this.baseUrl + path;
    const headers: Record<string, string> = { 'X-DUNE-API-KEY': this.#apiKey, accept: 'application/json' };
    if (contentType) headers['content-type'] = contentType;

    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.#fetch(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body }),
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (e) {
        const cause = e instanceof Error ? e : new Error(String(e));
        const detail = (cause.cause instanceof Error ? cause.cause.message : '') || cause.message;
        const reason = this.#redact(cause.name === 'TimeoutError' ? `no response within ${this.#timeoutMs} ms` : `network error: ${detail}`);
        if (attempt <= this.maxRetries) {
          await this.#retry({ method, path, attempt, delayMs: this.#backoffMs(attempt), reason });
          continue;
        }
        throw new DuneApiError({ status: 0, message: reason, method, path, attempts: attempt, cause });
      }

      const raw = await res.text();
      let parsed: unknown;
      try {
        parsed = raw ? JSON.parse(raw) : undefined;
      } catch {
        parsed = undefined;
      }
      if (res.ok) {
        if (parsed === undefined || typeof parsed !== 'object') {
          throw new DuneApiError({
            status: res.status,
            message: `unexpected non-JSON response: ${this.#redact(raw.slice(0, 200))}`,
            method,
            path,
            attempts: attempt,
          });
        }
        return parsed as T;
      }

      const message = this.#redact(errorText(parsed, raw, res.status));
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      const init = { status: res.status, message, method, path, attempts: attempt, body: parsed, retryAfterMs };
      if (res.status === 401 || res.status === 403) throw new DuneAuthError(init);
      const tooLong = retryAfterMs !== undefined && retryAfterMs > this.#maxRetryDelayMs;
      if (isRetryableStatus(res.status) && attempt <= this.maxRetries && !tooLong) {
        await this.#retry({
          method,
          path,
          attempt,
          delayMs: retryAfterMs ?? this.#backoffMs(attempt),
          status: res.status,
          reason: `HTTP ${res.status}: ${message}`,
        });
        continue;
      }
      throw new DuneApiError(init);
    }
  }

  async #retry(info: Omit<RetryInfo, 'maxRetries'>): Promise<void> {
    this.#onRetry?.({ ...info, maxRetries: this.maxRetries });
    await this.#sleep(info.delayMs);
  }
}

function tablePath(namespace: string, table: string): string {
  return `/v1/uploads/${encodeURIComponent(namespace)}/${encodeURIComponent(table)}`;
}
