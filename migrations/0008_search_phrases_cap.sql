-- search_bigrams (0007) without pairs into position 16383: PostgreSQL puts every word past the
-- 16,383rd of a vector at that one position, so pairs into it are artefacts (any word there
-- follows the word at 16382) and in a very long conversation they were thousands (a 320 kB
-- vector gave 516 kB of pairs). Phrase matching is positional, so it never meant anything past
-- that point; without them every pair vector stays far below the 1 MB tsvector limit. Rows
-- computed before keep their extra pairs until they are next written (a superset: harmless).
CREATE OR REPLACE FUNCTION parley_bigrams(v tsvector) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_to_tsvector(array_agg(DISTINCT a.l || ' ' || b.l)), ''::tsvector)
  FROM (SELECT u.lexeme AS l, p FROM unnest(v) u, unnest(u.positions) p WHERE p < 16382) a
  JOIN (SELECT u.lexeme AS l, p FROM unnest(v) u, unnest(u.positions) p WHERE p < 16383) b ON b.p = a.p + 1
  WHERE octet_length(a.l) + octet_length(b.l) < 1000
$$;
