SELECT account, version, body, external_id FROM crm_links ORDER BY account
