// Which BigQuery failures are worth another try, and how long to wait before it. Only known
// transient failures are retried (rate limits, 5xx, timeouts, dropped connections), a bounded
// number of times, with exponential backoff and jitter so that parallel requests spread out.
import { describeError } from '../../errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 8, baseMs: 500, maxMs: 32_000 };

export type FailureKind =
  /** Try the same request again later. */
  | 'transient'
  /** The request body is too big: split the batch. */
  | 'too_large'
  /** Table or dataset missing. */
  | 'not_found'
  /** Credentials or permissions. */
  | 'auth'
  | 'fatal';

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'backendError', 'internalError', 'timeout', 'quotaExceeded']);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'ENETDOWN', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'REQUEST_TIMEOUT']);

/** Thrown by our own per-request timer. */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
  readonly code = 'REQUEST_TIMEOUT';
}

export function classify(e: unknown): FailureKind {
  const err = e as { code?: unknown; errors?: { reason?: string; message?: string }[]; type?: string; message?: string };
  const status = typeof err?.code === 'number' ? err.code : undefined;
  const reasons = (Array.isArray(err?.errors) ? err.errors : []).map((x) => x?.reason ?? '');
  const msg = describeError(e);
  if (status === 413 || (status === 400 && /payload size exceeds|request too large|too many rows present/i.test(msg))) return 'too_large';
  if (status !== undefined && TRANSIENT_STATUS.has(status)) return 'transient';
  if (status === 403 && reasons.some((r) => r === 'rateLimitExceeded' || r === 'quotaExceeded')) return 'transient';
  if (status === 404) return 'not_found';
  if (status === 401 || status === 403) return 'auth';
  if (status !== undefined) return reasons.some((r) => TRANSIENT_REASONS.has(r)) ? 'transient' : 'fatal';
  if (typeof err?.code === 'string' && TRANSIENT_CODES.has(err.code)) return 'transient';
  if (/socket hang up|network timeout|ECONNRESET|EAI_AGAIN|timed? ?out|other side closed/i.test(msg)) return 'transient';
  return 'fatal';
}

/** Delay before retry number `attempt` (1-based): exponential, capped, with equal jitter. */
export function backoffMs(attempt: number, p: RetryPolicy, random: () => number = Math.random): number {
  const d = Math.min(p.maxMs, p.baseMs * 2 ** (attempt - 1));
  return Math.round(d / 2 + random() * (d / 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Rejects with RequestTimeoutError when `p` takes longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  if (!(ms > 0)) return p;
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new RequestTimeoutError(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
