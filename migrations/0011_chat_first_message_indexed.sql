-- Written by hand (a trigger function, as in 0005). The streaming chat stores the user's
-- message in one statement that also creates the conversation or moves its counters; that
-- statement puts the message's words in the row's messages_tsv itself and names the message in
-- the transaction-local setting parley.indexed_message. The insert trigger skips that one
-- message, so the conversation row (its two generated search columns and every index on it)
-- is written once, not twice.
-- Any other insert, in any code path, is indexed by the trigger as before.
CREATE OR REPLACE FUNCTION parley_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  skip text := coalesce(current_setting('parley.indexed_message', true), '');
BEGIN
  UPDATE conversations c SET messages_tsv = parley_tsv_append_all(c.messages_tsv, c.search_config, n.bodies)
  FROM (SELECT conversation_id, array_agg(content ORDER BY created_at, id) AS bodies FROM new_rows WHERE id <> skip GROUP BY conversation_id) n
  WHERE c.id = n.conversation_id;
  RETURN NULL;
END
$$;
