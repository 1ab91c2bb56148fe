DELETE FROM timers WHERE account = $1 AND key = $2
