UPDATE emails SET status = 'cancelled', last_error = $4, lease_worker = NULL, lease_until = NULL
WHERE id = $1 AND account = $2 AND status = 'sending' AND lease_worker = $3
