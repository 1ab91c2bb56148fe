SELECT address FROM suppressions
WHERE account = $1 AND address IN (SELECT jsonb_array_elements_text($2::jsonb)) ORDER BY address
