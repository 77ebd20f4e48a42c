-- Written by hand (plpgsql, as in 0005 and 0013). A message appended to a conversation made the
-- conversations trigger (0013) recompute search_bigrams from scratch: every pair of adjacent
-- words over the whole conversation (parley_bigrams joins all positions with themselves), so
-- each message cost more the longer the conversation: 2.1 ms for that call alone at 300
-- messages on PGlite, and the chat pays it twice per reply (the user's message, then the answer).
-- An append only adds words after the last position, so the new values follow from the old:
--   search_vector  = old search_vector || the appended words (tsvector concatenation shifts them
--                    past the last position: the same vector a fresh computation gives, since
--                    title, summary and content come first and the messages last);
--   search_bigrams = old search_bigrams || the pairs starting at the old last position (the pair
--                    across the boundary, then the appended words' own pairs), with the same
--                    rules as parley_bigrams (no pair into position 16383, none over 1,000 bytes).
-- The appenders (the chat's store functions and the messages insert trigger) write all three
-- columns through parley_search_append; the conversations trigger keeps what they wrote when
-- only messages_tsv and the search columns changed. Anything else (an edit or a delete that
-- rebuilds messages_tsv, a new title, summary, content or language) is recomputed in full, as before.
-- A vector's last position. Each lexeme keeps its positions in ascending order, so only the last
-- of each is read: one row per distinct word, not one per word of the conversation.
CREATE OR REPLACE FUNCTION parley_max_position(v tsvector) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(max(u.positions[array_length(u.positions, 1)]), 0)::integer FROM unnest(v) u
$$;
--> statement-breakpoint
-- parley_bigrams (0008) restricted to pairs whose first word is at from_pos or later: only the
-- positions of words that occur at from_pos or later are expanded.
CREATE OR REPLACE FUNCTION parley_bigrams_from(v tsvector, from_pos integer) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  WITH t AS MATERIALIZED (
    SELECT u.lexeme AS l, p FROM unnest(v) u, unnest(u.positions) p
    WHERE u.positions[array_length(u.positions, 1)] >= from_pos AND p >= from_pos AND p < 16383)
  SELECT coalesce(array_to_tsvector(array_agg(DISTINCT a.l || ' ' || b.l)), ''::tsvector)
  FROM t a JOIN t b ON b.p = a.p + 1
  WHERE a.p < 16382 AND octet_length(a.l) + octet_length(b.l) < 1000
$$;
--> statement-breakpoint
-- Appends message bodies to a conversation's words exactly as parley_tsv_append_all does (0005:
-- the same size limits), and brings search_vector and search_bigrams along (see above).
CREATE OR REPLACE FUNCTION parley_search_append(
  acc tsvector, sv tsvector, sb tsvector, cfg regconfig, bodies text[],
  OUT messages_tsv tsvector, OUT search_vector tsvector, OUT search_bigrams tsvector)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  b text;
  v tsvector;
  r tsvector;
  added tsvector := ''::tsvector;
BEGIN
  messages_tsv := acc;
  FOREACH b IN ARRAY bodies LOOP
    CONTINUE WHEN b IS NULL OR b = '';
    v := setweight(to_tsvector(cfg, left(b, 20000)), 'C');
    r := messages_tsv || v;
    IF pg_column_size(r) <= 400000 THEN
      messages_tsv := r;
      added := added || v;
    ELSE
      r := messages_tsv || strip(v);
      IF pg_column_size(r) <= 600000 THEN
        messages_tsv := r;
        added := added || strip(v);
      END IF;
    END IF;
  END LOOP;
  search_vector := sv || added;
  search_bigrams := sb || parley_bigrams_from(search_vector, parley_max_position(sv));
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_conversations_search() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v tsvector;
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.search_config := parley_search_config(NEW.workspace_id);
  ELSIF NEW.title IS NOT DISTINCT FROM OLD.title AND NEW.summary IS NOT DISTINCT FROM OLD.summary
    AND NEW.content IS NOT DISTINCT FROM OLD.content AND NEW.search_config = OLD.search_config THEN
    IF NEW.messages_tsv = OLD.messages_tsv THEN
      NEW.search_vector := OLD.search_vector;
      NEW.search_bigrams := OLD.search_bigrams;
      RETURN NEW;
    END IF;
    -- Words appended through parley_search_append, which brought the search columns along.
    IF NEW.search_vector IS DISTINCT FROM OLD.search_vector THEN
      RETURN NEW;
    END IF;
  END IF;
  v := parley_conversation_vector(NEW.search_config, NEW.title, NEW.summary, NEW.content, NEW.messages_tsv);
  NEW.search_vector := v;
  NEW.search_bigrams := parley_bigrams(v);
  RETURN NEW;
END
$$;
--> statement-breakpoint
-- 0011's messages insert trigger, appending through parley_search_append.
CREATE OR REPLACE FUNCTION parley_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  skip text := coalesce(current_setting('parley.indexed_message', true), '');
BEGIN
  UPDATE conversations c SET (messages_tsv, search_vector, search_bigrams) =
    (SELECT * FROM parley_search_append(c.messages_tsv, c.search_vector, c.search_bigrams, c.search_config, n.bodies))
  FROM (SELECT conversation_id, array_agg(content ORDER BY created_at, id) AS bodies FROM new_rows WHERE id <> skip GROUP BY conversation_id) n
  WHERE c.id = n.conversation_id;
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- 0012's parley_chat_append, appending through parley_search_append; otherwise unchanged.
CREATE OR REPLACE FUNCTION parley_chat_append(
  p_ws text, p_conv text, p_msg text, p_msg_event text, p_check_assistant text,
  p_at timestamptz, p_content text, p_actor text, p_history integer)
RETURNS TABLE (conv_id text, message_id text, assistant json, history json) LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN QUERY
    WITH a AS (
      SELECT * FROM assistants
      WHERE workspace_id = p_ws
        AND id = coalesce(p_check_assistant, (SELECT x.assistant_id FROM conversations x WHERE x.workspace_id = p_ws AND x.id = p_conv))),
    c AS (
      UPDATE conversations
      SET message_count = message_count + 1, unread_count = unread_count + 1,
          last_message_at = greatest(last_message_at, p_at), updated_at = now(),
          (messages_tsv, search_vector, search_bigrams) =
            (SELECT * FROM parley_search_append(messages_tsv, search_vector, search_bigrams, search_config, ARRAY[p_content]))
      WHERE workspace_id = p_ws AND id = p_conv AND (p_check_assistant IS NULL OR EXISTS (SELECT 1 FROM a))
        AND set_config('parley.indexed_message', p_msg, true) IS NOT NULL
      RETURNING conversations.id, conversations.contact_id),
    m AS (
      INSERT INTO messages (id, workspace_id, conversation_id, sender_type, sender_id, content, status, source, metadata, created_at)
      SELECT p_msg, p_ws, c.id, 'contact', c.contact_id, p_content, 'complete', 'chat', '{}'::jsonb, p_at FROM c
      RETURNING messages.id, messages.conversation_id, messages.sender_type),
    e AS (
      INSERT INTO events (id, workspace_id, type, entity_type, entity_id, actor, data)
      SELECT p_msg_event, p_ws, 'message.created', 'message', m.id, p_actor, jsonb_build_object('conversation_id', m.conversation_id, 'sender_type', m.sender_type) FROM m),
    h AS (
      SELECT y.id, y.sender_type, y.content, y.created_at FROM messages y
      WHERE y.workspace_id = p_ws AND y.conversation_id = p_conv AND y.sender_type IN ('contact', 'assistant', 'agent')
      ORDER BY y.created_at DESC, y.id DESC LIMIT p_history)
    SELECT (SELECT c.id FROM c), (SELECT m.id FROM m), (SELECT row_to_json(a) FROM a),
           (SELECT coalesce(json_agg(h ORDER BY h.created_at DESC, h.id DESC), '[]'::json) FROM h);
END
$fn$;
--> statement-breakpoint
-- 0014's parley_chat_finish, appending through parley_search_append; otherwise unchanged.
CREATE OR REPLACE FUNCTION parley_chat_finish(
  p_ws text, p_conv text, p_msg text, p_msg_event text, p_sender text, p_content text,
  p_status text, p_source text, p_metadata jsonb, p_at timestamptz, p_actor text,
  p_day date, p_model text, p_prompt_tokens integer, p_completion_tokens integer)
RETURNS TABLE (message_id text) LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN QUERY
    WITH c AS (
      UPDATE conversations
      SET message_count = message_count + 1,
          last_message_at = greatest(last_message_at, p_at), updated_at = now(),
          (messages_tsv, search_vector, search_bigrams) =
            (SELECT * FROM parley_search_append(messages_tsv, search_vector, search_bigrams, search_config, ARRAY[p_content]))
      WHERE workspace_id = p_ws AND id = p_conv
        AND set_config('parley.indexed_message', p_msg, true) IS NOT NULL
      RETURNING conversations.id),
    m AS (
      INSERT INTO messages (id, workspace_id, conversation_id, sender_type, sender_id, content, status, source, metadata, created_at)
      SELECT p_msg, p_ws, c.id, 'assistant', p_sender, p_content, p_status, p_source, p_metadata, p_at FROM c
      RETURNING messages.id, messages.conversation_id, messages.sender_type),
    e AS (
      INSERT INTO events (id, workspace_id, type, entity_type, entity_id, actor, data)
      SELECT p_msg_event, p_ws, 'message.created', 'message', m.id, p_actor, jsonb_build_object('conversation_id', m.conversation_id, 'sender_type', m.sender_type) FROM m),
    u AS (
      INSERT INTO llm_usage AS l (workspace_id, day, model, prompt_tokens, completion_tokens, requests)
      SELECT p_ws, p_day, p_model, p_prompt_tokens, p_completion_tokens, 1 WHERE p_model IS NOT NULL
      ON CONFLICT (workspace_id, day, model) DO UPDATE
      SET prompt_tokens = l.prompt_tokens + excluded.prompt_tokens,
          completion_tokens = l.completion_tokens + excluded.completion_tokens,
          requests = l.requests + 1, updated_at = now())
    SELECT (SELECT m.id FROM m);
END
$fn$;
