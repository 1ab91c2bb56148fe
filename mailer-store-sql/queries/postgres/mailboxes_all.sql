SELECT account, id FROM records WHERE kind = 'mailbox' ORDER BY account, id
