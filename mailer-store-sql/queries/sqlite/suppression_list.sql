SELECT address, reason, at FROM suppressions WHERE account = $1 ORDER BY address
