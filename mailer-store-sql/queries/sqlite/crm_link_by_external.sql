SELECT account, version, body, external_id FROM crm_links WHERE external_id = $1
