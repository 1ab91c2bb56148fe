UPDATE crm_links SET version = version + 1, body = $3 WHERE account = $1 AND version = $2
