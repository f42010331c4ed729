// The collector's Prometheus metrics (prom-client registry, text format on /metrics). The
// per-message series (messages, bytes and the producers' `elapsed` by team and msg_type) are
// counted in plain numbers on the hot path and handed to prom-client only when scraped: a
// prom-client `inc`/`observe` hashes its labels on every call, too slow for 300,000 messages/s.
// Rare events (refusals, connections, fsyncs) use prom-client's own counters.
// Label values come from senders, so they are bounded: msg_type must be 1-3 digits, team at most
// 48 characters from a safe set, and at most MAX_TEAMS distinct teams (later ones count as "other").
// Names follow Prometheus: jam_etl_collect_*, counters end in _total, seconds and bytes.
import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Histogram, Registry, Metric } from 'prom-client';
import { lazy } from '../lazy.js';

const prom = lazy<typeof PromClient>('prom-client');

export const MAX_TEAMS = 64;
const ELAPSED_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Counts for one (team, msg_type). */
export class TypeStats {
  messages = 0;
  bytes = 0;
  elapsedCount = 0;
  elapsedSum = 0;
  readonly buckets = new Float64Array(ELAPSED_BUCKETS.length);
  constructor(readonly team: string, readonly msgType: string) {}

  /** elapsed in microseconds (-1 when the envelope has none). */
  add(bytes: number, elapsedUs: number): void {
    this.messages++;
    this.bytes += bytes;
    if (elapsedUs >= 0) {
      const s = elapsedUs / 1e6;
      this.elapsedCount++;
      this.elapsedSum += s;
      const b = this.buckets;
      for (let i = 0; i < b.length; i++) {
        if (s <= ELAPSED_BUCKETS[i]!) {
          b[i]!++;
          break;
        }
      }
    }
  }
}

const SAFE_TEAM = /^[A-Za-z0-9_.\-+ ]{1,48}$/;
const MSG_TYPE = /^\d{1,3}$/;

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** A metric whose values are read from the stats at scrape time (prom-client's Metric shape). */
function scrapeTimeMetric(name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): Metric {
  const m = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
  };
  return m as unknown as Metric;
}

export class CollectorMetrics {
  readonly registry = new (prom().Registry)();
  private readonly byTeam = new Map<string, Map<string, TypeStats>>();
  private readonly all: TypeStats[] = [];

  readonly refusedMessages = new (prom().Counter)({ name: 'jam_etl_collect_refused_messages_total', help: 'Messages received but not written, by reason (program: tag not in --program; duplicate_resend: a reconnect re-send byte-identical to the peer\'s last message; ws_binary; empty)', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly refusedConnections = new (prom().Counter)({ name: 'jam_etl_collect_refused_connections_total', help: 'Connections refused or closed by the collector, by reason (max_connections, idle_timeout, message_too_long, bad_frame, shutdown)', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly incompleteMessages = new (prom().Counter)({ name: 'jam_etl_collect_incomplete_messages_total', help: 'Messages cut by a connection that ended mid-message (nothing of them is written)', labelNames: ['transport'] as const, registers: [this.registry] });
  readonly discardedBytes = new (prom().Counter)({ name: 'jam_etl_collect_incomplete_bytes_total', help: 'Bytes of messages cut by a connection that ended mid-message', registers: [this.registry] });
  readonly connections = new (prom().Counter)({ name: 'jam_etl_collect_connections_total', help: 'Connections accepted', labelNames: ['transport'] as const, registers: [this.registry] });
  readonly openConnections = new (prom().Gauge)({ name: 'jam_etl_collect_open_connections', help: 'Connections open now', labelNames: ['transport'] as const, registers: [this.registry] });
  readonly receivedBytesRaw = new (prom().Counter)({ name: 'jam_etl_collect_socket_received_bytes_total', help: 'Bytes read from sockets (framing included)', labelNames: ['transport'] as const, registers: [this.registry] });
  readonly writtenBytes = new (prom().Counter)({ name: 'jam_etl_collect_written_bytes_total', help: 'Bytes written to minute files (newlines included)', registers: [this.registry] });
  readonly writtenMessages = new (prom().Counter)({ name: 'jam_etl_collect_written_messages_total', help: 'Messages (lines) written to minute files', registers: [this.registry] });
  readonly fsyncSeconds = new (prom().Histogram)({ name: 'jam_etl_collect_fsync_duration_seconds', help: 'fdatasync latency of the minute files', buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly partialLines = new (prom().Counter)({ name: 'jam_etl_collect_partial_lines_total', help: 'Unterminated last lines found at start-up (a crash mid-write), cut off their files and kept in _partial/', registers: [this.registry] });
  readonly writeErrors = new (prom().Counter)({ name: 'jam_etl_collect_write_errors_total', help: 'Failed writes to minute files (retried; the file is cut back to its last whole line)', registers: [this.registry] });
  readonly queuedBytes = new (prom().Gauge)({ name: 'jam_etl_collect_writer_queued_bytes', help: 'Bytes received and not yet written', registers: [this.registry] });
  readonly pauses = new (prom().Counter)({ name: 'jam_etl_collect_backpressure_pauses_total', help: 'Times reading from every socket stopped because the disk was behind', registers: [this.registry] });
  readonly throttled = new (prom().Counter)({ name: 'jam_etl_collect_throttled_total', help: 'Times a connection was paused by the per-connection byte-rate limit', registers: [this.registry] });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) prom().collectDefaultMetrics({ register: this.registry });
    const labels = (s: TypeStats) => ({ team: s.team, msg_type: s.msgType });
    this.registry.registerMetric(scrapeTimeMetric('jam_etl_collect_messages_total', 'Messages written, by team and msg_type (from the envelope; unknown when absent)', 'counter', () => this.all.map((s) => ({ value: s.messages, labels: labels(s) }))));
    this.registry.registerMetric(scrapeTimeMetric('jam_etl_collect_received_bytes_total', 'Message bytes written (newline excluded), by team and msg_type', 'counter', () => this.all.map((s) => ({ value: s.bytes, labels: labels(s) }))));
    this.registry.registerMetric(
      scrapeTimeMetric('jam_etl_collect_producer_elapsed_seconds', "The producers' own `elapsed` (converted from microseconds), by team and msg_type", 'histogram', () => {
        const out: MetricValue[] = [];
        for (const s of this.all) {
          if (s.elapsedCount === 0) continue;
          let acc = 0;
          for (let i = 0; i < ELAPSED_BUCKETS.length; i++) {
            acc += s.buckets[i]!;
            out.push({ metricName: 'jam_etl_collect_producer_elapsed_seconds_bucket', value: acc, labels: { ...labels(s), le: ELAPSED_BUCKETS[i]! } });
          }
          out.push({ metricName: 'jam_etl_collect_producer_elapsed_seconds_bucket', value: s.elapsedCount, labels: { ...labels(s), le: '+Inf' } });
          out.push({ metricName: 'jam_etl_collect_producer_elapsed_seconds_sum', value: s.elapsedSum, labels: labels(s) });
          out.push({ metricName: 'jam_etl_collect_producer_elapsed_seconds_count', value: s.elapsedCount, labels: labels(s) });
        }
        return out;
      }),
    );
  }

  /** The stats of one (team, msg_type), label values bounded. */
  stats(team: string | null, msgType: string | null): TypeStats {
    const t = team ?? 'unknown';
    const m = msgType ?? 'unknown';
    let byType = this.byTeam.get(t);
    if (byType === undefined) {
      const safe = t === 'unknown' || (SAFE_TEAM.test(t) && this.byTeam.size < MAX_TEAMS) ? t : 'other';
      byType = this.byTeam.get(safe);
      if (byType === undefined) {
        byType = new Map();
        this.byTeam.set(safe, byType);
      }
      if (safe === t) this.byTeam.set(t, byType);
      // An unsafe or surplus team: look it up under "other" each time (no entry per value).
    }
    let s = byType.get(m);
    if (s === undefined) {
      const mm = m === 'unknown' || MSG_TYPE.test(m) ? m : 'other';
      s = byType.get(mm);
      if (s === undefined) {
        const teamLabel = this.byTeam.get(t) === byType ? t : 'other';
        s = new TypeStats(teamLabel, mm);
        byType.set(mm, s);
        this.all.push(s);
      }
    }
    return s;
  }

  /** Totals for the status line and the exit summary. */
  totals(): { messages: number; bytes: number } {
    let messages = 0, bytes = 0;
    for (const s of this.all) {
      messages += s.messages;
      bytes += s.bytes;
    }
    return { messages, bytes };
  }

  async counterValue(c: Counter<string>): Promise<number> {
    const v = await c.get();
    return v.values.reduce((a, x) => a + x.value, 0);
  }
}
