SELECT body FROM records WHERE account = $1 AND kind = $2 ORDER BY id
