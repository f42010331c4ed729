// Heavy CommonJS packages loaded on first use instead of at start-up. Every command's module is
// imported by the CLI at start, and with them @duckdb/node-api, @google-cloud/bigquery,
// google-auth-library, prom-client and ws cost ~0.6 s of start-up (and CPU) on this machine
// for every run, `jam-etl dune` of one small file included. Each is loaded (synchronously,
// through require: they are CommonJS) by the first call that needs it.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** () => the package's exports, required on the first call. */
export function lazy<T>(name: string): () => T {
  let m: T | undefined;
  return () => (m ??= require(name) as T);
}
