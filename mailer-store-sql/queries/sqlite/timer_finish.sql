DELETE FROM timers WHERE id = $1 AND account = $2 AND lease_worker = $3
