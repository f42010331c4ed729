// Builds the client a command talks to and settles the project id up front, so that a missing
// project or missing credentials is one line and exit 2 before any work starts.
import type { BigQuery } from '@google-cloud/bigquery';
import { ConfigError, describeError } from '../../errors.js';
import { makeBigQueryClient, toConfigError } from './client.js';
import { preflightBigQuery } from './preflight.js';

export interface ConnectOptions {
  project?: string;
  location: string;
  apiEndpoint?: string;
  /** false: the client never retries by itself (the caller owns retries and counts requests). */
  autoRetry?: boolean;
}

export interface Connection {
  bq: BigQuery;
  projectId: string;
}

let quietMetadataLookup = false;
/**
 * Looking for credentials, google-auth asks the GCE metadata server and, off Google Cloud,
 * prints a MetadataLookupWarning on stderr. That noise would follow the one-line credentials
 * error; the error itself already says what to do.
 */
function silenceMetadataLookupWarning(): void {
  if (quietMetadataLookup) return;
  quietMetadataLookup = true;
  const emit = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'MetadataLookupWarning') return;
    (emit as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}

export async function connect(opts: ConnectOptions): Promise<Connection> {
  // What is already certain (no project, no credentials) fails now, not after google-auth's
  // ~3 s metadata-server lookup.
  preflightBigQuery(opts);
  if (!opts.apiEndpoint && !process.env['BIGQUERY_EMULATOR_HOST']) silenceMetadataLookupWarning();
  let bq: BigQuery;
  try {
    bq = makeBigQueryClient({
      location: opts.location,
      ...(opts.project ? { projectId: opts.project } : {}),
      ...(opts.apiEndpoint ? { apiEndpoint: opts.apiEndpoint } : {}),
      ...(opts.autoRetry === false ? { retryOptions: { autoRetry: false } } : {}),
    });
  } catch (e) {
    throw toConfigError(e) ?? new ConfigError(`cannot set up the BigQuery client: ${describeError(e)}`);
  }
  let projectId: string;
  try {
    projectId = opts.project ?? (await bq.getProjectId());
  } catch (e) {
    throw toConfigError(e) ?? new ConfigError(`BigQuery project id not found (${describeError(e)}): pass --project or set GOOGLE_CLOUD_PROJECT`);
  }
  if (!projectId || projectId.includes('{{')) throw new ConfigError('BigQuery project id not found: pass --project or set GOOGLE_CLOUD_PROJECT');
  bq.projectId = projectId;
  if (!opts.apiEndpoint && !process.env['BIGQUERY_EMULATOR_HOST']) {
    // Against Google, settle the credentials now: without this the client sends requests
    // unauthenticated after a metadata-server lookup and fails later with a less clear error.
    try {
      await bq.authClient.getAccessToken();
    } catch (e) {
      throw toConfigError(e) ?? new ConfigError(`BigQuery credentials not usable (${describeError(e)}): run "gcloud auth application-default login" or set GOOGLE_APPLICATION_CREDENTIALS`);
    }
  }
  return { bq, projectId };
}

/** HTTP status of a client error, if it has one. */
export function statusOf(e: unknown): number | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Maps an API error from a metadata call (datasets, tables, jobs) to the error the user sees:
 * credentials and permission problems are ConfigErrors (exit 2), the rest keeps its message.
 */
export function apiFailure(what: string, e: unknown): Error {
  const cfg = toConfigError(e);
  if (cfg) return cfg;
  const status = statusOf(e);
  if (status === 401) return new ConfigError(`${what}: BigQuery refused the credentials (401): ${describeError(e)}`);
  if (status === 403) return new ConfigError(`${what}: permission denied (403): ${describeError(e)}`);
  return new ConfigError(`${what}: ${describeError(e)}`);
}
