SELECT uid_validity, last_uid FROM inbox_cursors WHERE account = $1 AND mailbox = $2
