DELETE FROM suppressions WHERE account = $1 AND address = $2
