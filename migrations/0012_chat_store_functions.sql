-- Written by hand (plpgsql, as in 0005 and 0011). The streaming chat stores the user's message
-- in one statement before the model is called, so that statement's cost is added to every
-- reply's time to first token. Sent as a plain query it was parsed and planned on every call:
-- about 2 ms of the 5 on PGlite, for a plan that never changes. Inside a plpgsql function the
-- statement is planned once per database connection and the plan reused (PGlite has one
-- connection for the life of the process; a pooled connection keeps it while it lives).
-- The statements are the ones functions/chat/chat.service.ts sent before, unchanged: the rows,
-- counters, events and the search words of the message (migration 0011), atomically.
-- Parameters are p_-prefixed so they never shadow a column.
CREATE OR REPLACE FUNCTION parley_chat_start(
  p_ws text, p_conv text, p_msg text, p_conv_event text, p_msg_event text, p_check_assistant text,
  p_title text, p_source text, p_contact text, p_session text, p_assistant text, p_metadata jsonb,
  p_at timestamptz, p_sender text, p_content text, p_actor text, p_conv_data jsonb)
RETURNS TABLE (conv_id text, message_id text, assistant json) LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN QUERY
    WITH a AS (SELECT * FROM assistants WHERE workspace_id = p_ws AND id = p_check_assistant),
    c AS (
      INSERT INTO conversations (id, workspace_id, title, source, contact_id, session_id, assistant_id, metadata, message_count, unread_count, last_message_at, messages_tsv)
      SELECT p_conv, p_ws, p_title, p_source, p_contact, p_session, p_assistant, p_metadata, 1, 1, p_at,
             parley_tsv_append(''::tsvector, parley_search_config(p_ws), p_content)
      -- The row is written with its first message's words; the messages trigger skips that message (0011).
      WHERE (p_check_assistant IS NULL OR EXISTS (SELECT 1 FROM a)) AND set_config('parley.indexed_message', p_msg, true) IS NOT NULL
      RETURNING conversations.id),
    m AS (
      INSERT INTO messages (id, workspace_id, conversation_id, sender_type, sender_id, content, status, source, metadata, created_at)
      SELECT p_msg, p_ws, c.id, 'contact', p_sender, p_content, 'complete', 'chat', '{}'::jsonb, p_at FROM c
      RETURNING messages.id, messages.conversation_id, messages.sender_type),
    e AS (
      INSERT INTO events (id, workspace_id, type, entity_type, entity_id, actor, data)
      SELECT p_conv_event, p_ws, 'conversation.created', 'conversation', c.id, p_actor, p_conv_data FROM c
      UNION ALL
      SELECT p_msg_event, p_ws, 'message.created', 'message', m.id, p_actor, jsonb_build_object('conversation_id', m.conversation_id, 'sender_type', m.sender_type) FROM m)
    SELECT (SELECT c.id FROM c), (SELECT m.id FROM m), (SELECT row_to_json(a) FROM a);
END
$fn$;
--> statement-breakpoint
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
          messages_tsv = parley_tsv_append(messages_tsv, search_config, p_content)
      -- The counters and the message's words in one row version; the messages trigger skips this message (0011).
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
