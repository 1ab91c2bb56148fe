UPDATE emails SET status = 'cancelled' WHERE account = $1 AND mailing = $2 AND status = 'queued'
