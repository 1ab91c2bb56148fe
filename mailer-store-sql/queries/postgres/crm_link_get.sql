SELECT account, version, body, external_id FROM crm_links WHERE account = $1
