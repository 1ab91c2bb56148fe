-- The status test is a CASE so that the planner looks the row up by its primary key: `status = 'sending'`
-- would let it pick the partial queue index and walk all of it (the id is that index's last column).
UPDATE emails SET status = 'queued', due_at = $4, last_error = $5, lease_worker = NULL, lease_until = NULL
WHERE id = $1 AND account = $2 AND CASE status WHEN 'sending' THEN lease_worker = $3 ELSE false END
