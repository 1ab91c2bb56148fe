DELETE FROM sends WHERE mailbox IN (SELECT value FROM json_each($1)) AND at < $2
