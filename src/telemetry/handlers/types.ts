// The contract between the pipeline and the handlers: one handler per message type, mapping
// an envelope to rows of one or more tables.
import type { Envelope } from '../envelope.js';
import type { Row, TableName } from '../../tables/schema.js';

export type Emit = (table: TableName, row: Row) => void;

export interface Handler {
  /** The producers' msg_type. */
  readonly msgType: number;
  /** What the message is, for --help and docs. */
  readonly description: string;
  readonly tables: readonly TableName[];
  /** Maps one envelope to rows; throws RejectError for shapes it does not know. */
  map(env: Envelope, emit: Emit): void;
}
