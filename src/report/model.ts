// The report's data model: what `jam-etl report --format json` prints (documented in
// docs/report.md; keep both in step) and what every renderer draws from.

export const ACTIVITIES = ['block', 'statistics', 'refine', 'assurance', 'ticket'] as const;
export type Activity = (typeof ACTIVITIES)[number];

/** The message type and the table each activity's elapsed comes from. */
export const ACTIVITY_INFO: Record<Activity, { msgType: number; table: string; what: string }> = {
  block: { msgType: 128, table: 'blocks', what: 'make a block and compute its state root' },
  statistics: { msgType: 13, table: 'validatorstatistics (+core, service), one sample per message', what: 'block + state root, as reported with the statistics' },
  refine: { msgType: 255, table: 'workreports', what: 'refine a work package' },
  assurance: { msgType: 141, table: 'assurances', what: 'from a new block to the CE 141 assurance' },
  ticket: { msgType: 131, table: 'tickets', what: 'generate a ticket' },
};

/** The statistics a score mixes, each relative to the median team's. */
export const SCORE_STATS = ['p50_ms', 'p90_ms', 'p99_ms', 'mean_ms', 'stddev_ms'] as const;
export type ScoreStat = (typeof SCORE_STATS)[number];

export const DEFAULT_WEIGHTS: Record<ScoreStat, number> = { p50_ms: 0.35, p90_ms: 0.25, p99_ms: 0.15, mean_ms: 0.15, stddev_ms: 0.1 };
export const DEFAULT_MIN_SAMPLES = 5;
/** Producers that send no team name: listed, never ranked (they may be several teams). */
export const UNATTRIBUTED_TEAM = 'unknown';

export interface Timing {
  n: number;
  p50_ms: number | null;
  p90_ms: number | null;
  p99_ms: number | null;
  mean_ms: number | null;
  stddev_ms: number | null;
  min_ms: number | null;
  max_ms: number | null;
  /** Weighted ratio to the median team (1 = median, lower = faster); null when not scored. */
  score: number | null;
}

export interface Counters {
  /** Rows of all 11 tables. */
  rows: number;
  /** Messages: rows, with one statistics message counted once. */
  messages: number;
  first_seen: string | null;
  last_seen: string | null;
  minutes_active: number;
  blocks_authored: number;
  /** blocks_authored / window.slots (null when the window has no slots). */
  block_share: number | null;
  reports_guaranteed: number;
  reports_audited: number;
  work_reports: number;
  assurances: number;
  tickets: number;
  statistics_messages: number;
}

export interface TeamReport extends Counters {
  team: string;
  /** 1 = best; equal scores share a rank; null = not ranked (see unranked_reason). */
  rank: number | null;
  /** Geometric mean of the activity scores; null when not ranked. */
  score: number | null;
  unranked_reason: string | null;
  /** Distinct sender_id (a null sender_id counts as one node). */
  nodes: number;
  activities: Record<Activity, Timing>;
}

export interface NodeReport extends Counters {
  team: string;
  sender_id: string | null;
  activities: Record<Activity, Timing>;
}

export interface Window {
  since: string | null;
  until: string | null;
  first_time: string | null;
  last_time: string | null;
  from_slot: number | null;
  to_slot: number | null;
  slots: number;
  from_minute: string | null;
  to_minute: string | null;
  minutes: number;
}

export interface MinuteRow {
  minute: string;
  team: string;
  rows: number;
  messages: number;
  blocks_authored: number;
}

export interface ValidatorRow {
  validator_id: number;
  blocks: number | null;
  tickets: number | null;
  guarantees: number | null;
  assurances: number | null;
  epochs: number | null;
  blocks_logged: number;
}

export interface Report {
  format: 'jam-etl-report/1';
  window: Window;
  scoring: {
    min_samples: number;
    weights: Record<ScoreStat, number>;
    /** Per activity, the median over the scored teams of each statistic (null: no team scored). */
    reference: Record<Activity, Record<ScoreStat, number | null> | null>;
  };
  teams: TeamReport[];
  nodes: NodeReport[];
  per_minute: MinuteRow[];
  validators: ValidatorRow[];
  /** Per activity and team: the 0th..100th percentiles (101 values, ms) of its samples. */
  distributions: Record<Activity, Record<string, number[]>>;
}
