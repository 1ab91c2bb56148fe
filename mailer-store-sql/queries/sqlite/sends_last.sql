SELECT MAX(at) FROM sends WHERE mailbox = $1
