/*
 * jam-etl report: what each team and node did in the window, and rows per minute per team.
 *
 * Every row of the 11 tables counts in `rows`; `messages` counts a statistics (13) message
 * once, not once per validator/core/service row (its rows share time, team, sender_id and
 * elapsed). blocks_authored: rows of blocks (the author logs its block, 128). Work reports by
 * role (metadata role=): reports_guaranteed (Guarantor), reports_audited (Auditor).
 * minutes_active: distinct UTC minutes with at least one row.
 *
 * Window: SET VARIABLE report_since / report_until (TIMESTAMPTZ; since inclusive, until
 * exclusive); unset means unbounded.
 * Output levels: 'team' (sender_id and minute null), 'node' (per sender_id; null sender_id is
 * its own node), 'minute' (per team and UTC minute).
 */
WITH stats AS (
  SELECT time, team, sender_id, elapsed FROM validatorstatistics
  UNION ALL SELECT time, team, sender_id, elapsed FROM corestatistics
  UNION ALL SELECT time, team, sender_id, elapsed FROM servicestatistics
),
all_rows AS (
            SELECT time, team, sender_id, 'block' AS kind, 1 AS msg FROM blocks
  UNION ALL SELECT time, team, sender_id, CASE role WHEN 'Guarantor' THEN 'guarantee' WHEN 'Auditor' THEN 'audit' ELSE 'workreport' END, 1 FROM workreports
  UNION ALL SELECT time, team, sender_id, 'assurance', 1 FROM assurances
  UNION ALL SELECT time, team, sender_id, 'ticket', 1 FROM tickets
  UNION ALL SELECT time, team, sender_id, 'statistics',
                   CASE WHEN row_number() OVER (PARTITION BY time, team, sender_id, elapsed) = 1 THEN 1 ELSE 0 END
            FROM stats
  UNION ALL SELECT time, team, sender_id, 'preimage', 1 FROM preimages
  UNION ALL SELECT time, team, sender_id, 'workpackage', 1 FROM workpackages
  UNION ALL SELECT time, team, sender_id, 'service', 1 FROM services
  UNION ALL SELECT time, team, sender_id, 'segment', 1 FROM segments
),
w AS (
  SELECT *, date_trunc('minute', time) AS minute FROM all_rows
  WHERE time >= coalesce(getvariable('report_since')::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ)
    AND time <  coalesce(getvariable('report_until')::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ)
)
SELECT
  CASE WHEN grouping(sender_id) = 0 THEN 'node' WHEN grouping(minute) = 0 THEN 'minute' ELSE 'team' END AS level,
  team,
  CASE WHEN grouping(sender_id) = 0 THEN sender_id END AS sender_id,
  CASE WHEN grouping(minute) = 0 THEN strftime(minute, '%Y-%m-%dT%H:%MZ') END AS minute,
  count(*)::INTEGER AS rows,
  sum(msg)::INTEGER AS messages,
  count(DISTINCT sender_id)::INTEGER AS nodes,
  strftime(min(time), '%Y-%m-%dT%H:%M:%S.%fZ') AS first_seen,
  strftime(max(time), '%Y-%m-%dT%H:%M:%S.%fZ') AS last_seen,
  count(DISTINCT minute)::INTEGER AS minutes_active,
  count(*) FILTER (WHERE kind = 'block')::INTEGER AS blocks_authored,
  count(*) FILTER (WHERE kind = 'guarantee')::INTEGER AS reports_guaranteed,
  count(*) FILTER (WHERE kind = 'audit')::INTEGER AS reports_audited,
  count(*) FILTER (WHERE kind IN ('guarantee', 'audit', 'workreport'))::INTEGER AS work_reports,
  count(*) FILTER (WHERE kind = 'assurance')::INTEGER AS assurances,
  count(*) FILTER (WHERE kind = 'ticket')::INTEGER AS tickets,
  sum(msg) FILTER (WHERE kind = 'statistics')::INTEGER AS statistics_messages
FROM w
GROUP BY GROUPING SETS ((team), (team, sender_id), (team, minute))
ORDER BY level DESC, team, sender_id NULLS FIRST, minute;
