// Builds the BigQuery client for every command. Endpoint precedence: explicit apiEndpoint, then
// BIGQUERY_EMULATOR_HOST, then Google's real endpoint with Application Default Credentials.
import type * as BigQueryLib from '@google-cloud/bigquery';
import type { BigQuery, BigQueryOptions } from '@google-cloud/bigquery';
import type * as GoogleAuth from 'google-auth-library';
import { lazy } from '../../lazy.js';

const bigqueryLib = lazy<typeof BigQueryLib>('@google-cloud/bigquery');
const googleAuth = lazy<typeof GoogleAuth>('google-auth-library');
import { ConfigError, describeError } from '../../errors.js';

export { ConfigError };

export interface BigQueryClientOptions {
  projectId?: string;
  /** e.g. 'http://127.0.0.1:9050'; requests go to `${apiEndpoint}/bigquery/v2/...`. */
  apiEndpoint?: string;
  location?: string;
  /** Passed through to the client (its default: autoRetry true, maxRetries 3, exponential backoff). */
  retryOptions?: BigQueryOptions['retryOptions'];
}

/** The access token sent to a custom endpoint when no credentials are configured. */
const STATIC_TOKEN = 'jam-etl-custom-endpoint';

export function makeBigQueryClient(opts: BigQueryClientOptions = {}): BigQuery {
  const emulatorHost = process.env['BIGQUERY_EMULATOR_HOST'] || undefined;
  const endpoint = opts.apiEndpoint || emulatorHost;
  const options: BigQueryOptions & { useAuthWithCustomEndpoint?: boolean } = {};
  if (opts.projectId) options.projectId = opts.projectId;
  if (opts.location) options.location = opts.location;
  if (opts.retryOptions) options.retryOptions = opts.retryOptions;
  if (opts.apiEndpoint) options.apiEndpoint = opts.apiEndpoint;

  if (endpoint) {
    if (!opts.projectId && !process.env['GOOGLE_CLOUD_PROJECT'] && !process.env['GCLOUD_PROJECT']) {
      throw new ConfigError(`BigQuery endpoint ${endpoint} needs a project id (--project or GOOGLE_CLOUD_PROJECT)`);
    }
    // Without this the client would try to discover credentials (metadata server lookups) and its
    // multipart upload path (table.load / createWriteStream) fails with no auth headers at all.
    if (!process.env['GOOGLE_APPLICATION_CREDENTIALS']) {
      const auth = new (googleAuth().OAuth2Client)();
      auth.setCredentials({ access_token: STATIC_TOKEN, expiry_date: Date.now() + 365 * 24 * 3600 * 1000 });
      options.authClient = auth;
    }
    options.useAuthWithCustomEndpoint = true;
  }

  const client = new (bigqueryLib().BigQuery)(options);
  if (opts.apiEndpoint && emulatorHost) {
    // The client builds its base URL from BIGQUERY_EMULATOR_HOST even when apiEndpoint is given;
    // an explicit endpoint must win for every request, not only for uploads.
    client.baseUrl = `${client.apiEndpoint}/bigquery/v2`;
  }
  return client;
}

/**
 * Turns the client's "no project" / "no credentials" failures into a one-line ConfigError;
 * returns undefined for anything else (API errors, network errors).
 */
export function toConfigError(e: unknown): ConfigError | undefined {
  if (e instanceof ConfigError) return e;
  const msg = describeError(e);
  if (/Unable to detect a Project Id/i.test(msg)) {
    return new ConfigError('BigQuery project id not found: pass --project or set GOOGLE_CLOUD_PROJECT');
  }
  if (/Could not load the default credentials|invalid_grant|Could not refresh access token|GOOGLE_APPLICATION_CREDENTIALS/i.test(msg)) {
    return new ConfigError(`BigQuery credentials not usable (${msg}): run "gcloud auth application-default login" or set GOOGLE_APPLICATION_CREDENTIALS`);
  }
  return undefined;
}
