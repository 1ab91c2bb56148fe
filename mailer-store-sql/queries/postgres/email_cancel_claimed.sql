-- The status test is a CASE so that the planner looks the row up by its primary key (as email_fail).
UPDATE emails SET status = 'cancelled', last_error = $4, lease_worker = NULL, lease_until = NULL
WHERE id = $1 AND account = $2 AND CASE status WHEN 'sending' THEN lease_worker = $3 ELSE false END
