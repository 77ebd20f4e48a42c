-- Written by hand (plpgsql, as in 0012). When a chat reply ends, the assistant message was stored
-- by drizzle in a transaction of four statements (BEGIN, the conversation's counters, the message,
-- its event, COMMIT) and the tokens by a fifth: six round trips to Neon per reply, each query
-- built afresh by drizzle (about a fifth of what a chat request allocates) and planned afresh
-- by PostgreSQL. This function does the same writes in ONE statement, planned once per
-- connection: the counters (no unread for an assistant message), the message with its words in
-- messages_tsv in the same row version (the messages trigger skips it, as in 0011), the
-- message.created event, and the workspace's tokens for the day and model (llm_usage), only
-- when there are tokens to count. When the conversation is gone (deleted while the model
-- answered) no message or event is written, but the tokens, spent all the same, are counted.
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
          messages_tsv = parley_tsv_append(messages_tsv, search_config, p_content)
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
