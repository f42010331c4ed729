/*
 * jam-etl report: blocks (and tickets, guarantees, assurances) per validator, from the chain's
 * own counters in validatorstatistics (13), beside the blocks table's count by author_index.
 *
 * validatorstatistics carries, per message, each validator's counters for the current epoch
 * (current_*) and the previous one (last_*). The messages of every node in the window are
 * taken in time order and cut into epochs: a new epoch starts when the last_blocks vector
 * changes or the sum of current_blocks drops. Per validator, a counter is the sum over those
 * epochs of the largest current_* value seen in each. (The first epoch of the window may
 * include blocks made before the window began: the counter says so.)
 *
 * Window: SET VARIABLE report_since / report_until (TIMESTAMPTZ; since inclusive, until
 * exclusive); unset means unbounded.
 */
WITH vs AS (
  SELECT * FROM validatorstatistics
  WHERE time >= coalesce(getvariable('report_since')::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ)
    AND time <  coalesce(getvariable('report_until')::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ)
),
msg AS (
  SELECT time, team, sender_id,
         sum(current_blocks) AS total,
         string_agg(coalesce(last_blocks::VARCHAR, ''), ',' ORDER BY validator_id) AS last_vec
  FROM vs GROUP BY time, team, sender_id
),
ordered AS (
  SELECT *,
    CASE WHEN lag(last_vec) OVER o IS NULL THEN 0
         WHEN last_vec <> lag(last_vec) OVER o OR total < lag(total) OVER o THEN 1
         ELSE 0 END AS starts_epoch
  FROM msg WINDOW o AS (ORDER BY time, sender_id NULLS FIRST, team)
),
epochs AS (
  SELECT time, team, sender_id,
         sum(starts_epoch) OVER (ORDER BY time, sender_id NULLS FIRST, team ROWS UNBOUNDED PRECEDING) AS epoch
  FROM ordered
),
per_epoch AS (
  SELECT e.epoch, v.validator_id,
         max(v.current_blocks) AS blocks, max(v.current_tickets) AS tickets,
         max(v.current_guarantees) AS guarantees, max(v.current_assurances) AS assurances
  FROM vs v JOIN epochs e ON v.time = e.time AND v.team = e.team AND v.sender_id IS NOT DISTINCT FROM e.sender_id
  GROUP BY e.epoch, v.validator_id
),
from_stats AS (
  SELECT validator_id,
         sum(blocks)::INTEGER AS blocks, sum(tickets)::INTEGER AS tickets,
         sum(guarantees)::INTEGER AS guarantees, sum(assurances)::INTEGER AS assurances,
         count(*)::INTEGER AS epochs
  FROM per_epoch GROUP BY validator_id
),
from_blocks AS (
  SELECT author_index AS validator_id, count(*)::INTEGER AS blocks_logged
  FROM blocks
  WHERE time >= coalesce(getvariable('report_since')::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ)
    AND time <  coalesce(getvariable('report_until')::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ)
  GROUP BY author_index
)
SELECT
  coalesce(s.validator_id, b.validator_id)::INTEGER AS validator_id,
  s.blocks, s.tickets, s.guarantees, s.assurances, s.epochs,
  coalesce(b.blocks_logged, 0)::INTEGER AS blocks_logged
FROM from_stats s FULL OUTER JOIN from_blocks b ON s.validator_id = b.validator_id
ORDER BY validator_id;
