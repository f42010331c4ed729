// Typed errors the CLI maps to exit codes: everything that is the user's setup (flags, paths,
// credentials, unwritable output) is exit 2 with a one-line message; data problems are rejects.

/** Bad flags or arguments. Exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Configuration, credentials or I/O the run cannot proceed without. Exit 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A one-line description of any thrown value, for messages that must never be stack traces. */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const msg = e.message.split('\n')[0] ?? e.message;
    return code && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(e);
}
