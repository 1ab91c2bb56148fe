UPDATE emails SET status = 'failed', last_error = $3
WHERE id = $1 AND account = $2 AND status = 'sent'
