-- conversations.tag_ids: the conversation's tag ids, sorted, denormalised from conversation_tags
-- so that search's tag filter is `tag_ids && <ids>` on a GIN index and combines with the text and
-- date conditions as bitmaps (issue 6: through conversation_tags the planner started from the
-- tag's thousands of conversations and fetched each by primary key). Written by hand: triggers.
-- Kept by statement triggers on conversation_tags (transition tables, like 0005's message
-- triggers) that recompute the affected conversations' arrays from conversation_tags, so an
-- insert, a delete, and a tag's deletion (which cascades through conversation_tags) all keep it
-- exact. A rename changes no id: search resolves names to ids at query time. Not in the drizzle
-- schema, like search_vector: nothing outside search reads it.
ALTER TABLE conversations ADD COLUMN tag_ids text[] DEFAULT '{}'::text[] NOT NULL;
--> statement-breakpoint
UPDATE conversations c SET tag_ids = t.ids
FROM (SELECT conversation_id, array_agg(tag_id ORDER BY tag_id) AS ids FROM conversation_tags GROUP BY conversation_id) t
WHERE c.id = t.conversation_id;
--> statement-breakpoint
CREATE INDEX conversations_tag_ids_idx ON conversations USING gin (tag_ids);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_conversation_tag_ids_refresh(ids text[]) RETURNS void LANGUAGE sql AS $$
  UPDATE conversations c SET tag_ids = coalesce(
    (SELECT array_agg(ct.tag_id ORDER BY ct.tag_id) FROM conversation_tags ct WHERE ct.conversation_id = c.id), '{}')
  WHERE c.id = ANY (ids)
    AND c.tag_ids IS DISTINCT FROM coalesce(
      (SELECT array_agg(ct.tag_id ORDER BY ct.tag_id) FROM conversation_tags ct WHERE ct.conversation_id = c.id), '{}');
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_conversation_tags_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM parley_conversation_tag_ids_refresh(ARRAY(SELECT DISTINCT conversation_id FROM new_rows));
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_conversation_tags_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM parley_conversation_tag_ids_refresh(ARRAY(SELECT DISTINCT conversation_id FROM old_rows));
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_conversation_tags_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM parley_conversation_tag_ids_refresh(ARRAY(
    SELECT conversation_id FROM old_rows UNION SELECT conversation_id FROM new_rows));
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER conversation_tags_tag_ids_insert AFTER INSERT ON conversation_tags
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION parley_conversation_tags_inserted();
--> statement-breakpoint
CREATE TRIGGER conversation_tags_tag_ids_delete AFTER DELETE ON conversation_tags
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION parley_conversation_tags_deleted();
--> statement-breakpoint
CREATE TRIGGER conversation_tags_tag_ids_update AFTER UPDATE ON conversation_tags
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION parley_conversation_tags_updated();
