-- Full-text search over conversations (issue 6), written by hand: drizzle-kit cannot express
-- triggers, and the search columns stay out of the drizzle schema on purpose (a select() of a
-- conversation must not ship kilobytes of tsvector).
--   search_config  the workspace's text-search configuration (settings.search_language:
--                  english, the default, or simple), set by a trigger on insert and re-applied
--                  to every conversation when the workspace changes it.
--   messages_tsv   the messages' words (weight C), kept by statement triggers on messages in the
--                  same transaction as the insert, edit or delete: an insert appends only the new
--                  messages; an edit or delete recomputes that conversation's messages. Caps keep
--                  every tsvector far below PostgreSQL's 1 MB limit: 20,000 characters of each
--                  message; past ~400 kB new messages are added without positions (words still
--                  match, phrases and proximity do not), past ~600 kB they are not added.
--   search_vector  generated: title A, summary (title, content, topics, action items) B, the
--                  first 60,000 characters of content C, and messages_tsv; GIN-indexed.
-- Contacts: pg_trgm GIN indexes on name, email and phone make ILIKE '%part%' searches indexed.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_search_config(ws text) RETURNS regconfig LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN (SELECT w.settings->>'search_language' FROM workspaces w WHERE w.id = ws) = 'simple'
    THEN 'pg_catalog.simple'::regconfig ELSE 'pg_catalog.english'::regconfig END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_tsv_append(acc tsvector, cfg regconfig, body text) RETURNS tsvector LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v tsvector;
  r tsvector;
BEGIN
  IF body IS NULL OR body = '' THEN RETURN acc; END IF;
  v := setweight(to_tsvector(cfg, left(body, 20000)), 'C');
  r := acc || v;
  IF pg_column_size(r) <= 400000 THEN RETURN r; END IF;
  r := acc || strip(v);
  IF pg_column_size(r) <= 600000 THEN RETURN r; END IF;
  RETURN acc;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_tsv_append_all(acc tsvector, cfg regconfig, bodies text[]) RETURNS tsvector LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE b text;
BEGIN
  FOREACH b IN ARRAY bodies LOOP acc := parley_tsv_append(acc, cfg, b); END LOOP;
  RETURN acc;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_messages_tsv(conv text, cfg regconfig) RETURNS tsvector LANGUAGE sql STABLE AS $$
  SELECT parley_tsv_append_all(''::tsvector, cfg, coalesce(array_agg(m.content ORDER BY m.created_at, m.id), '{}'))
  FROM messages m WHERE m.conversation_id = conv
$$;
--> statement-breakpoint
ALTER TABLE conversations ADD COLUMN search_config regconfig DEFAULT 'pg_catalog.english'::regconfig NOT NULL;
--> statement-breakpoint
ALTER TABLE conversations ADD COLUMN messages_tsv tsvector DEFAULT ''::tsvector NOT NULL;
--> statement-breakpoint
ALTER TABLE conversations ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector(search_config, title), 'A')
  || setweight(to_tsvector(search_config, coalesce(summary->>'title', '') || ' ' || coalesce(summary->>'content', '')), 'B')
  || setweight(jsonb_to_tsvector(search_config, coalesce(summary->'topics', '[]'::jsonb) || coalesce(summary->'action_items', '[]'::jsonb), '["string"]'), 'B')
  || setweight(to_tsvector(search_config, left(coalesce(content, ''), 60000)), 'C')
  || messages_tsv
) STORED;
--> statement-breakpoint
CREATE INDEX conversations_search_idx ON conversations USING gin (search_vector);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_conversations_search_config() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_config := parley_search_config(NEW.workspace_id);
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER conversations_search_config BEFORE INSERT ON conversations
  FOR EACH ROW EXECUTE FUNCTION parley_conversations_search_config();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE conversations c SET messages_tsv = parley_tsv_append_all(c.messages_tsv, c.search_config, n.bodies)
  FROM (SELECT conversation_id, array_agg(content ORDER BY created_at, id) AS bodies FROM new_rows GROUP BY conversation_id) n
  WHERE c.id = n.conversation_id;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION parley_messages_inserted();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_messages_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    UPDATE conversations c SET messages_tsv = parley_messages_tsv(c.id, c.search_config)
    WHERE c.id IN (
      SELECT o.conversation_id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE o.content IS DISTINCT FROM n.content OR o.conversation_id IS DISTINCT FROM n.conversation_id
      UNION
      SELECT n.conversation_id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE o.conversation_id IS DISTINCT FROM n.conversation_id);
  ELSE
    UPDATE conversations c SET messages_tsv = parley_messages_tsv(c.id, c.search_config)
    WHERE c.id IN (SELECT conversation_id FROM old_rows);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER messages_search_update AFTER UPDATE ON messages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION parley_messages_changed();
--> statement-breakpoint
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION parley_messages_changed();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_workspace_search_language() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE conversations c SET search_config = parley_search_config(NEW.id),
    messages_tsv = parley_messages_tsv(c.id, parley_search_config(NEW.id))
  WHERE c.workspace_id = NEW.id;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER workspaces_search_language AFTER UPDATE OF settings ON workspaces FOR EACH ROW
  WHEN ((OLD.settings->>'search_language') IS DISTINCT FROM (NEW.settings->>'search_language'))
  EXECUTE FUNCTION parley_workspace_search_language();
--> statement-breakpoint
UPDATE conversations c SET search_config = parley_search_config(c.workspace_id), messages_tsv = parley_messages_tsv(c.id, parley_search_config(c.workspace_id));
--> statement-breakpoint
CREATE INDEX contacts_name_trgm_idx ON contacts USING gin (name gin_trgm_ops);
--> statement-breakpoint
CREATE INDEX contacts_email_trgm_idx ON contacts USING gin (email gin_trgm_ops);
--> statement-breakpoint
CREATE INDEX contacts_phone_trgm_idx ON contacts USING gin (phone gin_trgm_ops);
