SELECT content FROM email_contents WHERE id = $1
