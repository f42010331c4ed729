/*
 * jam-etl report: the window the report covers.
 *
 * since/until: SET VARIABLE report_since / report_until (TIMESTAMPTZ; since inclusive, until
 * exclusive), null when unset. first_time/last_time: the earliest and latest row in the window
 * (any of the 11 tables). The window's slots and minutes run from since (else first_time) to
 * until (else last_time), both ends included: slot = floor((time - 2025-01-01T12:00:00Z) / 6 s),
 * as the tables' own `slot` column.
 */
WITH t AS (
            SELECT time FROM blocks
  UNION ALL SELECT time FROM validatorstatistics UNION ALL SELECT time FROM corestatistics
  UNION ALL SELECT time FROM servicestatistics   UNION ALL SELECT time FROM workreports
  UNION ALL SELECT time FROM preimages           UNION ALL SELECT time FROM assurances
  UNION ALL SELECT time FROM tickets             UNION ALL SELECT time FROM workpackages
  UNION ALL SELECT time FROM services            UNION ALL SELECT time FROM segments
),
w AS (
  SELECT
    getvariable('report_since')::TIMESTAMPTZ AS since,
    getvariable('report_until')::TIMESTAMPTZ AS until,
    (SELECT min(time) FROM t
      WHERE time >= coalesce(getvariable('report_since')::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ)
        AND time <  coalesce(getvariable('report_until')::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ)) AS first_time,
    (SELECT max(time) FROM t
      WHERE time >= coalesce(getvariable('report_since')::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ)
        AND time <  coalesce(getvariable('report_until')::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ)) AS last_time
),
b AS (
  SELECT *,
    coalesce(since, first_time) AS t0,
    -- until is exclusive: the window's last instant is one microsecond before it
    coalesce(until - INTERVAL 1 MICROSECOND, last_time) AS t1
  FROM w
),
s AS (
  SELECT *,
    floor((epoch_us(t0) - epoch_us(TIMESTAMPTZ '2025-01-01 12:00:00+00')) / 6000000)::BIGINT AS from_slot,
    floor((epoch_us(t1) - epoch_us(TIMESTAMPTZ '2025-01-01 12:00:00+00')) / 6000000)::BIGINT AS to_slot,
    date_trunc('minute', t0) AS from_minute,
    date_trunc('minute', t1) AS to_minute
  FROM b
)
SELECT
  strftime(since, '%Y-%m-%dT%H:%M:%S.%fZ') AS since,
  strftime(until, '%Y-%m-%dT%H:%M:%S.%fZ') AS until,
  strftime(first_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS first_time,
  strftime(last_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS last_time,
  from_slot,
  to_slot,
  CASE WHEN to_slot >= from_slot THEN to_slot - from_slot + 1 ELSE 0 END AS slots,
  strftime(from_minute, '%Y-%m-%dT%H:%MZ') AS from_minute,
  strftime(to_minute, '%Y-%m-%dT%H:%MZ') AS to_minute,
  CASE WHEN to_minute >= from_minute THEN datediff('minute', from_minute, to_minute) + 1 ELSE 0 END AS minutes
FROM s;
