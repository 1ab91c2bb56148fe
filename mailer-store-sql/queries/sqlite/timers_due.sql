-- LIMIT is an expression, not a bare parameter: SQLite (3.47+) plans a bare bound LIMIT as a constant and
-- then prepares the statement again on every execution. Likewise in every query with a bound LIMIT.
SELECT id, body FROM timers WHERE ready_at <= $1 ORDER BY ready_at, id LIMIT $2 + 0
