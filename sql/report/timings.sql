/*
 * jam-etl report: timings per team and activity, and per node (sender_id).
 *
 * One sample per timed message, in milliseconds (elapsed is microseconds); a null elapsed is
 * "not measured" and no sample. Activities (see docs/report.md):
 *   block      blocks (128): making a block and computing its state root
 *   statistics validatorstatistics/corestatistics/servicestatistics (13): one sample per
 *              statistics MESSAGE, not per fan-out row. The rows of one message share the
 *              envelope's time (microseconds), team, sender_id and elapsed, so a message is one
 *              distinct (time, team, sender_id, elapsed) over the three tables.
 *   refine     workreports (255): refining a work package (guarantors and auditors both refine)
 *   assurance  assurances (141): from a new block to the CE 141 assurance
 *   ticket     tickets (131): generating a ticket
 * Percentiles are continuous (linear interpolation between closest ranks: quantile_cont);
 * stddev is the sample standard deviation (null for one sample).
 * `cdf` holds the 0th, 1st, ..., 100th percentiles (quantile_cont) for the distribution charts.
 *
 * Window: SET VARIABLE report_since / report_until (TIMESTAMPTZ; since inclusive, until
 * exclusive); unset means unbounded. By hand:
 *   SET VARIABLE report_since = TIMESTAMPTZ '2025-04-24 23:40:00+00';
 *   <this file>
 * Output: level 'team' rows (sender_id null) and level 'node' rows, ordered.
 */
WITH stats_messages AS (
  SELECT DISTINCT time, team, sender_id, elapsed FROM (
    SELECT time, team, sender_id, elapsed FROM validatorstatistics
    UNION ALL SELECT time, team, sender_id, elapsed FROM corestatistics
    UNION ALL SELECT time, team, sender_id, elapsed FROM servicestatistics
  )
),
samples AS (
            SELECT 'block'      AS activity, time, team, sender_id, elapsed FROM blocks
  UNION ALL SELECT 'statistics' AS activity, time, team, sender_id, elapsed FROM stats_messages
  UNION ALL SELECT 'refine'     AS activity, time, team, sender_id, elapsed FROM workreports
  UNION ALL SELECT 'assurance'  AS activity, time, team, sender_id, elapsed FROM assurances
  UNION ALL SELECT 'ticket'     AS activity, time, team, sender_id, elapsed FROM tickets
),
timed AS (
  SELECT activity, team, sender_id, elapsed::DOUBLE / 1000 AS ms
  FROM samples
  WHERE elapsed IS NOT NULL
    AND time >= coalesce(getvariable('report_since')::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ)
    AND time <  coalesce(getvariable('report_until')::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ)
)
SELECT
  CASE WHEN grouping(sender_id) = 0 THEN 'node' ELSE 'team' END AS level,
  activity,
  team,
  CASE WHEN grouping(sender_id) = 0 THEN sender_id END AS sender_id,
  count(*)::INTEGER AS n,
  quantile_cont(ms, 0.5) AS p50_ms,
  quantile_cont(ms, 0.9) AS p90_ms,
  quantile_cont(ms, 0.99) AS p99_ms,
  avg(ms) AS mean_ms,
  stddev_samp(ms) AS stddev_ms,
  min(ms) AS min_ms,
  max(ms) AS max_ms,
  quantile_cont(ms, [0.00, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09,
                     0.10, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17, 0.18, 0.19,
                     0.20, 0.21, 0.22, 0.23, 0.24, 0.25, 0.26, 0.27, 0.28, 0.29,
                     0.30, 0.31, 0.32, 0.33, 0.34, 0.35, 0.36, 0.37, 0.38, 0.39,
                     0.40, 0.41, 0.42, 0.43, 0.44, 0.45, 0.46, 0.47, 0.48, 0.49,
                     0.50, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.57, 0.58, 0.59,
                     0.60, 0.61, 0.62, 0.63, 0.64, 0.65, 0.66, 0.67, 0.68, 0.69,
                     0.70, 0.71, 0.72, 0.73, 0.74, 0.75, 0.76, 0.77, 0.78, 0.79,
                     0.80, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89,
                     0.90, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 1.00]) AS cdf
FROM timed
GROUP BY GROUPING SETS ((activity, team), (activity, team, sender_id))
ORDER BY level DESC, activity, team, sender_id NULLS FIRST;
