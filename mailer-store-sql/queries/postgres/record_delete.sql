DELETE FROM records WHERE id = $1 AND account = $2 AND kind = $3
