// Rejects: every non-blank input line that does not become rows becomes one reject record,
// so nothing is ever silently lost. A reject keeps the raw line (base64 if it is not UTF-8).

export type RejectCode =
  | 'invalid_utf8'
  | 'invalid_json'
  | 'not_an_object'
  | 'missing_msg_type'
  | 'bad_msg_type'
  | 'unknown_msg_type'
  | 'bad_envelope'
  | 'missing_field'
  | 'bad_field'
  | 'schema'
  | 'no_rows'
  | 'line_too_long'
  | 'unterminated_line'
  | 'internal'
  | 'destination'
  | 'row_too_large';

/** Thrown by the envelope and the handlers; caught per line and turned into a reject record. */
export class RejectError extends Error {
  constructor(
    readonly code: RejectCode,
    message: string,
  ) {
    super(message);
  }
}

export interface RejectRecord {
  file: string;
  line: number;
  code: RejectCode;
  reason: string;
  /** The raw line as text, when it is valid UTF-8. */
  raw?: string;
  /** The raw line as base64, when it is not valid UTF-8 (or was cut, see truncated). */
  raw_base64?: string;
  /** Set when only the first bytes of an over-long line are kept. */
  truncated_bytes?: number;
  table?: string;
}
