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
  | 'unsafe_integer'
  | 'out_of_range'
  | 'too_deep'
  | 'invalid_unicode'
  | 'destination'
  | 'row_too_large'
  // JIP-3 capture records (src/jip3/convert.ts, docs/jip3.md)
  | 'jip3_decode'
  | 'jip3_unknown_event'
  | 'jip3_bad_node_info'
  | 'jip3_no_node_info'
  | 'jip3_bad_record'
  | 'jip3_truncated_record';

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
  // JIP-3 rejects: where in the capture, which connection and event, where in the frame.
  /** Byte offset of the capture record in its file. */
  record_offset?: number;
  connection?: number;
  event_id?: number;
  /** Byte offset inside the frame where decoding failed. */
  offset?: number;
  /** The frame's bytes (or the record's, for a bad record) as 0x-hex. */
  raw_hex?: string;
}
