-- Quoted phrases fast (issue 6), written by hand. A phrase of common words ("please help")
-- matched only through search_vector's GIN finds every conversation holding both words (a third
-- of them) and must then read each one's positions to check adjacency: close to a second at
-- 100,000 conversations. search_bigrams holds, without positions, every pair of adjacent
-- lexemes of search_vector ('pleas help'), GIN-indexed: the search ANDs the phrase's pairs to
-- its condition, so the index finds the few candidates and the positional check runs on them
-- alone. Exactly the adjacencies search_vector's phrase operator sees (the same vector, also
-- across the boundaries of its parts), so it only ever narrows to a superset of the real matches.
-- Pairs longer than 1,000 bytes are left out (the search leaves them out of the query as well).
CREATE OR REPLACE FUNCTION parley_bigrams(v tsvector) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_to_tsvector(array_agg(DISTINCT a.l || ' ' || b.l)), ''::tsvector)
  FROM (SELECT u.lexeme AS l, p FROM unnest(v) u, unnest(u.positions) p) a
  JOIN (SELECT u.lexeme AS l, p FROM unnest(v) u, unnest(u.positions) p) b ON b.p = a.p + 1
  WHERE octet_length(a.l) + octet_length(b.l) < 1000
$$;
--> statement-breakpoint
-- A generated column cannot read another one, so this repeats search_vector's expression (0005).
ALTER TABLE conversations ADD COLUMN search_bigrams tsvector GENERATED ALWAYS AS (parley_bigrams(
  setweight(to_tsvector(search_config, title), 'A')
  || setweight(to_tsvector(search_config, coalesce(summary->>'title', '') || ' ' || coalesce(summary->>'content', '')), 'B')
  || setweight(jsonb_to_tsvector(search_config, coalesce(summary->'topics', '[]'::jsonb) || coalesce(summary->'action_items', '[]'::jsonb), '["string"]'), 'B')
  || setweight(to_tsvector(search_config, left(coalesce(content, ''), 60000)), 'C')
  || messages_tsv
)) STORED;
--> statement-breakpoint
CREATE INDEX conversations_search_bigrams_idx ON conversations USING gin (search_bigrams);
