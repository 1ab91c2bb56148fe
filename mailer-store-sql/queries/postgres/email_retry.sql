UPDATE emails SET status = 'queued', due_at = $4, last_error = $5, lease_worker = NULL, lease_until = NULL
WHERE id = $1 AND account = $2 AND status = 'sending' AND lease_worker = $3
