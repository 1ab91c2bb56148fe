INSERT INTO sends (mailbox, at) SELECT value, $2 FROM json_each($1)
