-- Written by hand (plpgsql, as in 0005). search_vector and search_bigrams were generated
-- columns, and PostgreSQL recomputes a stored generated column on every UPDATE of its row: each
-- counter move, status change, assignment, unread reset or tag change re-derived the whole
-- conversation's words and re-paired them (parley_bigrams over every position). Both also
-- evaluated the same weighted expression, so every write computed it twice. They are now plain
-- columns that one BEFORE trigger keeps: on INSERT, and on an UPDATE that changes what they are
-- made of (title, summary, content, search_config, messages_tsv), it computes the vector once and
-- its pairs from it; any other UPDATE keeps them as they are (and ignores a write to them).
-- The same trigger sets search_config on insert, as conversations_search_config (0005) did.
-- Measured on PGlite, one conversation row: insert 0.71–0.89 ms → 0.50–0.57 ms, an appended
-- message's words 0.69–0.88 → 0.52–0.63 ms. The values are those of the generated columns,
-- which DROP EXPRESSION keeps for existing rows.
ALTER TABLE conversations ALTER COLUMN search_vector DROP EXPRESSION;
--> statement-breakpoint
ALTER TABLE conversations ALTER COLUMN search_bigrams DROP EXPRESSION;
--> statement-breakpoint
-- The generated columns' expression (0005, 0007), unchanged.
CREATE OR REPLACE FUNCTION parley_conversation_vector(cfg regconfig, title text, summary jsonb, content text, messages tsvector)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector(cfg, title), 'A')
    || setweight(to_tsvector(cfg, coalesce(summary->>'title', '') || ' ' || coalesce(summary->>'content', '')), 'B')
    || setweight(jsonb_to_tsvector(cfg, coalesce(summary->'topics', '[]'::jsonb) || coalesce(summary->'action_items', '[]'::jsonb), '["string"]'), 'B')
    || setweight(to_tsvector(cfg, left(coalesce(content, ''), 60000)), 'C')
    || messages
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_conversations_search() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v tsvector;
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.search_config := parley_search_config(NEW.workspace_id);
  ELSIF NEW.title IS NOT DISTINCT FROM OLD.title AND NEW.summary IS NOT DISTINCT FROM OLD.summary
    AND NEW.content IS NOT DISTINCT FROM OLD.content AND NEW.search_config = OLD.search_config
    AND NEW.messages_tsv = OLD.messages_tsv THEN
    NEW.search_vector := OLD.search_vector;
    NEW.search_bigrams := OLD.search_bigrams;
    RETURN NEW;
  END IF;
  v := parley_conversation_vector(NEW.search_config, NEW.title, NEW.summary, NEW.content, NEW.messages_tsv);
  NEW.search_vector := v;
  NEW.search_bigrams := parley_bigrams(v);
  RETURN NEW;
END
$$;
--> statement-breakpoint
DROP TRIGGER conversations_search_config ON conversations;
--> statement-breakpoint
DROP FUNCTION parley_conversations_search_config();
--> statement-breakpoint
CREATE TRIGGER conversations_search BEFORE INSERT OR UPDATE ON conversations
  FOR EACH ROW EXECUTE FUNCTION parley_conversations_search();
