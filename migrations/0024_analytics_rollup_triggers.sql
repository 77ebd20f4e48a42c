-- Written by hand (plpgsql, as in 0005, 0009, 0013): the analytics rollups of 0023, kept by
-- triggers on every write so that no code path can forget them, and built for existing rows.
--
-- analytics_daily holds, per workspace, day of the workspace's time zone, channel and assignee
-- (the conversation's, now), the counts GET /v1/analytics used to compute from the period's rows:
-- conversations created that day by status now, source and sentiment; messages written that day;
-- conversations resolved that day. analytics_daily_tags holds the conversations created that day
-- per tag. Days are those of analytics_zones.timezone (the workspace's settings.timezone if the
-- database knows it, else UTC), and a day D holds the instants of
-- [D 00:00 at time zone tz, D+1 00:00 at time zone tz): the same boundaries the raw query uses,
-- so DST days (23 or 25 hours) and half-hour zones are exact. Changing settings.timezone rebuilds
-- the workspace's rows (like search_language rebuilds its vectors in 0005).
--
-- Each trigger turns the changed rows into signed deltas (parley_analytics_delta), grouped per
-- target row before they leave the statement, and parley_analytics_apply adds them with one
-- upsert. Insert and delete triggers on messages and conversation_tags are per statement
-- (transition tables) so that a bulk insert costs one grouped upsert. An update of a
-- conversation is per row and fires only when something counted changes (status, source,
-- sentiment, created_at, resolved_at, channel, assignee); a new channel or assignee moves its
-- messages' and tags' counts with it.
--
-- A deleted conversation is subtracted with its messages and tags by a BEFORE DELETE trigger:
-- the foreign keys delete its messages and tags afterwards, when their triggers can no longer
-- find the conversation (and skip them). When a workspace is deleted, its rollups go by the
-- foreign key and nothing is subtracted.
--
-- Concurrency: a writer's trigger reads the conversation's channel and assignee after the search
-- triggers of 0005/0009 (which fire first, by name) have locked the conversation row, and the
-- message paths lock it before inserting; an assignment therefore never moves counts while a
-- message or tag of its conversation is being added beside it. Writers hold a shared advisory
-- lock per workspace; a rebuild holds it exclusively, so no write lands in the old zone's days.
CREATE TYPE parley_analytics_delta AS (
  workspace_id text, day date, channel_id text, assignee_id text,
  status text, source text, sentiment text, conversations int, messages int, resolved int
);
--> statement-breakpoint
CREATE TYPE parley_analytics_tag_delta AS (
  workspace_id text, day date, channel_id text, assignee_id text, tag_id text, conversations int
);
--> statement-breakpoint
-- The day D of tz with D 00:00 <= ts < D+1 00:00 (local midnights as `timestamp at time zone`
-- resolves them, exactly as the raw query's day boundaries).
CREATE OR REPLACE FUNCTION parley_local_day(ts timestamptz, tz text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN ts < (((ts AT TIME ZONE tz)::date)::timestamp AT TIME ZONE tz) THEN (ts AT TIME ZONE tz)::date - 1
    WHEN ts >= ((((ts AT TIME ZONE tz)::date) + 1)::timestamp AT TIME ZONE tz) THEN (ts AT TIME ZONE tz)::date + 1
    ELSE (ts AT TIME ZONE tz)::date
  END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_analytics_zone(ws text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT timezone FROM analytics_zones WHERE workspace_id = ws), 'UTC')
$$;
--> statement-breakpoint
-- Shared per workspace for writers; parley_analytics_rebuild takes it exclusively.
CREATE OR REPLACE FUNCTION parley_analytics_lock(ws text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(hashtextextended('parley:analytics:' || w, 0))
  FROM (SELECT DISTINCT w FROM unnest(ws) w WHERE w IS NOT NULL ORDER BY w) x;
END
$$;
--> statement-breakpoint
-- A conversation's counts, signed: one delta on its creation day, one on its resolution day.
CREATE OR REPLACE FUNCTION parley_analytics_conversation(sign int, ws text, tz text, created_at timestamptz, resolved_at timestamptz,
  status text, source text, sentiment text, channel_id text, assignee_id text)
RETURNS SETOF parley_analytics_delta LANGUAGE sql IMMUTABLE AS $$
  SELECT ws, parley_local_day(created_at, tz), coalesce(channel_id, ''), coalesce(assignee_id, ''), status, source, sentiment, sign, 0, 0
  UNION ALL
  SELECT ws, parley_local_day(resolved_at, tz), coalesce(channel_id, ''), coalesce(assignee_id, ''), NULL, NULL, NULL, 0, 0, sign
  WHERE resolved_at IS NOT NULL
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_analytics_apply(d parley_analytics_delta[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO analytics_daily AS a (workspace_id, day, channel_id, assignee_id, conversations,
    status_open, status_pending, status_snoozed, status_resolved, status_closed,
    source_web, source_api, source_email, source_whatsapp, source_chat,
    sentiment_positive, sentiment_neutral, sentiment_negative, sentiment_mixed, sentiment_none, messages, resolved)
  SELECT workspace_id, day, channel_id, assignee_id, sum(conversations),
    coalesce(sum(conversations) FILTER (WHERE status = 'open'), 0),
    coalesce(sum(conversations) FILTER (WHERE status = 'pending'), 0),
    coalesce(sum(conversations) FILTER (WHERE status = 'snoozed'), 0),
    coalesce(sum(conversations) FILTER (WHERE status = 'resolved'), 0),
    coalesce(sum(conversations) FILTER (WHERE status = 'closed'), 0),
    coalesce(sum(conversations) FILTER (WHERE source = 'web'), 0),
    coalesce(sum(conversations) FILTER (WHERE source = 'api'), 0),
    coalesce(sum(conversations) FILTER (WHERE source = 'email'), 0),
    coalesce(sum(conversations) FILTER (WHERE source = 'whatsapp'), 0),
    coalesce(sum(conversations) FILTER (WHERE source = 'chat'), 0),
    coalesce(sum(conversations) FILTER (WHERE sentiment = 'positive'), 0),
    coalesce(sum(conversations) FILTER (WHERE sentiment = 'neutral'), 0),
    coalesce(sum(conversations) FILTER (WHERE sentiment = 'negative'), 0),
    coalesce(sum(conversations) FILTER (WHERE sentiment = 'mixed'), 0),
    coalesce(sum(conversations) FILTER (WHERE sentiment IS NULL), 0),
    sum(messages), sum(resolved)
  FROM unnest(d)
  GROUP BY workspace_id, day, channel_id, assignee_id
  HAVING bool_or(conversations <> 0 OR messages <> 0 OR resolved <> 0)
  ON CONFLICT (workspace_id, day, channel_id, assignee_id) DO UPDATE SET
    conversations = a.conversations + excluded.conversations,
    status_open = a.status_open + excluded.status_open,
    status_pending = a.status_pending + excluded.status_pending,
    status_snoozed = a.status_snoozed + excluded.status_snoozed,
    status_resolved = a.status_resolved + excluded.status_resolved,
    status_closed = a.status_closed + excluded.status_closed,
    source_web = a.source_web + excluded.source_web,
    source_api = a.source_api + excluded.source_api,
    source_email = a.source_email + excluded.source_email,
    source_whatsapp = a.source_whatsapp + excluded.source_whatsapp,
    source_chat = a.source_chat + excluded.source_chat,
    sentiment_positive = a.sentiment_positive + excluded.sentiment_positive,
    sentiment_neutral = a.sentiment_neutral + excluded.sentiment_neutral,
    sentiment_negative = a.sentiment_negative + excluded.sentiment_negative,
    sentiment_mixed = a.sentiment_mixed + excluded.sentiment_mixed,
    sentiment_none = a.sentiment_none + excluded.sentiment_none,
    messages = a.messages + excluded.messages,
    resolved = a.resolved + excluded.resolved
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_analytics_apply_tags(d parley_analytics_tag_delta[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO analytics_daily_tags AS a (workspace_id, day, channel_id, assignee_id, tag_id, conversations)
  SELECT workspace_id, day, channel_id, assignee_id, tag_id, sum(conversations)
  FROM unnest(d)
  GROUP BY workspace_id, day, channel_id, assignee_id, tag_id
  HAVING sum(conversations) <> 0
  ON CONFLICT (workspace_id, day, channel_id, assignee_id, tag_id) DO UPDATE SET conversations = a.conversations + excluded.conversations
$$;
--> statement-breakpoint
-- Grouped deltas (one per target row and status/source/sentiment), so that arrays stay small.
CREATE OR REPLACE FUNCTION parley_analytics_grouped(d parley_analytics_delta[]) RETURNS parley_analytics_delta[]
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(array_agg(ROW(workspace_id, day, channel_id, assignee_id, status, source, sentiment, c, m, r)::parley_analytics_delta), '{}')
  FROM (SELECT workspace_id, day, channel_id, assignee_id, status, source, sentiment,
               sum(conversations)::int AS c, sum(messages)::int AS m, sum(resolved)::int AS r
        FROM unnest(d) GROUP BY 1, 2, 3, 4, 5, 6, 7) g
$$;
--> statement-breakpoint
-- The workspace's rollups from its rows, in the zone of its settings (UTC when unset or unknown).
CREATE OR REPLACE FUNCTION parley_analytics_rebuild(ws text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  tz text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('parley:analytics:' || ws, 0));
  SELECT CASE WHEN jsonb_typeof(settings->'timezone') = 'string' AND settings->>'timezone' <> '' THEN settings->>'timezone' ELSE 'UTC' END
    INTO tz FROM workspaces WHERE id = ws;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  BEGIN
    PERFORM now() AT TIME ZONE tz;
  EXCEPTION WHEN invalid_parameter_value THEN
    tz := 'UTC';
  END;
  INSERT INTO analytics_zones (workspace_id, timezone) VALUES (ws, tz)
    ON CONFLICT (workspace_id) DO UPDATE SET timezone = excluded.timezone;
  DELETE FROM analytics_daily WHERE workspace_id = ws;
  DELETE FROM analytics_daily_tags WHERE workspace_id = ws;
  PERFORM parley_analytics_apply(ARRAY(
    SELECT ROW(d.workspace_id, d.day, d.channel_id, d.assignee_id, d.status, d.source, d.sentiment,
               sum(d.conversations), 0, sum(d.resolved))::parley_analytics_delta
    FROM conversations c,
      parley_analytics_conversation(1, c.workspace_id, tz, c.created_at, c.resolved_at, c.status, c.source, c.sentiment, c.channel_id, c.assignee_id) d
    WHERE c.workspace_id = ws
    GROUP BY d.workspace_id, d.day, d.channel_id, d.assignee_id, d.status, d.source, d.sentiment
    UNION ALL
    SELECT ROW(m.workspace_id, parley_local_day(m.created_at, tz), coalesce(c.channel_id, ''), coalesce(c.assignee_id, ''),
               NULL, NULL, NULL, 0, count(*), 0)::parley_analytics_delta
    FROM messages m JOIN conversations c ON c.id = m.conversation_id
    WHERE m.workspace_id = ws
    GROUP BY m.workspace_id, parley_local_day(m.created_at, tz), coalesce(c.channel_id, ''), coalesce(c.assignee_id, '')));
  PERFORM parley_analytics_apply_tags(ARRAY(
    SELECT ROW(c.workspace_id, parley_local_day(c.created_at, tz), coalesce(c.channel_id, ''), coalesce(c.assignee_id, ''), ct.tag_id, count(*))::parley_analytics_tag_delta
    FROM conversation_tags ct JOIN conversations c ON c.id = ct.conversation_id
    WHERE c.workspace_id = ws
    GROUP BY c.workspace_id, parley_local_day(c.created_at, tz), coalesce(c.channel_id, ''), coalesce(c.assignee_id, ''), ct.tag_id));
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_analytics_workspace_zone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM parley_analytics_rebuild(NEW.id);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER workspaces_analytics_zone AFTER UPDATE OF settings ON workspaces FOR EACH ROW
  WHEN ((OLD.settings->'timezone') IS DISTINCT FROM (NEW.settings->'timezone'))
  EXECUTE FUNCTION parley_analytics_workspace_zone();
--> statement-breakpoint
CREATE TRIGGER workspaces_analytics_zone_insert AFTER INSERT ON workspaces FOR EACH ROW
  WHEN ((NEW.settings->'timezone') IS NOT NULL)
  EXECUTE FUNCTION parley_analytics_workspace_zone();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_analytics_conversations_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM parley_analytics_lock(ARRAY(SELECT workspace_id FROM new_rows));
  PERFORM parley_analytics_apply(parley_analytics_grouped(ARRAY(
    SELECT d FROM new_rows n LEFT JOIN analytics_zones z ON z.workspace_id = n.workspace_id,
      parley_analytics_conversation(1, n.workspace_id, coalesce(z.timezone, 'UTC'), n.created_at, n.resolved_at, n.status, n.source, n.sentiment, n.channel_id, n.assignee_id) d)));
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER conversations_to_analytics_insert AFTER INSERT ON conversations REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION parley_analytics_conversations_inserted();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_analytics_conversation_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  otz text;
  ntz text;
  moved boolean := OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.channel_id IS DISTINCT FROM NEW.channel_id
    OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id;
BEGIN
  PERFORM parley_analytics_lock(ARRAY[OLD.workspace_id, NEW.workspace_id]);
  otz := parley_analytics_zone(OLD.workspace_id);
  ntz := parley_analytics_zone(NEW.workspace_id);
  PERFORM parley_analytics_apply(parley_analytics_grouped(ARRAY(
    SELECT d FROM parley_analytics_conversation(-1, OLD.workspace_id, otz, OLD.created_at, OLD.resolved_at, OLD.status, OLD.source, OLD.sentiment, OLD.channel_id, OLD.assignee_id) d
    UNION ALL
    SELECT d FROM parley_analytics_conversation(1, NEW.workspace_id, ntz, NEW.created_at, NEW.resolved_at, NEW.status, NEW.source, NEW.sentiment, NEW.channel_id, NEW.assignee_id) d
    UNION ALL
    -- Its messages follow a new channel or assignee (each in its own workspace's days).
    SELECT ROW(m.workspace_id, parley_local_day(m.created_at, parley_analytics_zone(m.workspace_id)), coalesce(k.channel_id, ''), coalesce(k.assignee_id, ''),
               NULL, NULL, NULL, 0, k.sign * count(*)::int, 0)::parley_analytics_delta
    FROM messages m,
      (VALUES (-1, OLD.channel_id, OLD.assignee_id), (1, NEW.channel_id, NEW.assignee_id)) k(sign, channel_id, assignee_id)
    WHERE moved AND m.conversation_id = NEW.id
    GROUP BY m.workspace_id, parley_local_day(m.created_at, parley_analytics_zone(m.workspace_id)), k.sign, k.channel_id, k.assignee_id)));
  IF moved OR OLD.created_at IS DISTINCT FROM NEW.created_at THEN
    PERFORM parley_analytics_apply_tags(ARRAY(
      SELECT ROW(k.workspace_id, parley_local_day(k.created_at, k.tz), coalesce(k.channel_id, ''), coalesce(k.assignee_id, ''), ct.tag_id, k.sign)::parley_analytics_tag_delta
      FROM conversation_tags ct,
        (VALUES (-1, OLD.workspace_id, otz, OLD.created_at, OLD.channel_id, OLD.assignee_id),
                (1, NEW.workspace_id, ntz, NEW.created_at, NEW.channel_id, NEW.assignee_id)) k(sign, workspace_id, tz, created_at, channel_id, assignee_id)
      WHERE ct.conversation_id = NEW.id));
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER conversations_to_analytics_update AFTER UPDATE ON conversations FOR EACH ROW
  WHEN ((OLD.workspace_id, OLD.status, OLD.source, OLD.sentiment, OLD.created_at, OLD.resolved_at, OLD.channel_id, OLD.assignee_id)
        IS DISTINCT FROM (NEW.workspace_id, NEW.status, NEW.source, NEW.sentiment, NEW.created_at, NEW.resolved_at, NEW.channel_id, NEW.assignee_id))
  EXECUTE FUNCTION parley_analytics_conversation_updated();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_analytics_conversation_deleting() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tz text;
BEGIN
  -- Deleted with its workspace: the rollups go with it.
  IF NOT EXISTS (SELECT 1 FROM workspaces WHERE id = OLD.workspace_id) THEN
    RETURN OLD;
  END IF;
  PERFORM parley_analytics_lock(ARRAY[OLD.workspace_id]);
  tz := parley_analytics_zone(OLD.workspace_id);
  PERFORM parley_analytics_apply(parley_analytics_grouped(ARRAY(
    SELECT d FROM parley_analytics_conversation(-1, OLD.workspace_id, tz, OLD.created_at, OLD.resolved_at, OLD.status, OLD.source, OLD.sentiment, OLD.channel_id, OLD.assignee_id) d
    UNION ALL
    SELECT ROW(m.workspace_id, parley_local_day(m.created_at, parley_analytics_zone(m.workspace_id)), coalesce(OLD.channel_id, ''), coalesce(OLD.assignee_id, ''),
               NULL, NULL, NULL, 0, -count(*)::int, 0)::parley_analytics_delta
    FROM messages m WHERE m.conversation_id = OLD.id
    GROUP BY m.workspace_id, parley_local_day(m.created_at, parley_analytics_zone(m.workspace_id)))));
  PERFORM parley_analytics_apply_tags(ARRAY(
    SELECT ROW(OLD.workspace_id, parley_local_day(OLD.created_at, tz), coalesce(OLD.channel_id, ''), coalesce(OLD.assignee_id, ''), ct.tag_id, -1)::parley_analytics_tag_delta
    FROM conversation_tags ct WHERE ct.conversation_id = OLD.id));
  RETURN OLD;
END
$$;
--> statement-breakpoint
CREATE TRIGGER conversations_to_analytics_delete BEFORE DELETE ON conversations FOR EACH ROW
  EXECUTE FUNCTION parley_analytics_conversation_deleting();
--> statement-breakpoint
-- Messages and tags: per statement. Their conversation's channel and assignee are read through
-- a join; rows whose conversation is gone (deleted in this transaction, already subtracted) join
-- nothing.
CREATE OR REPLACE FUNCTION parley_analytics_messages_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- (Nested: a statement naming old_rows cannot even be planned in an INSERT trigger.)
  IF TG_OP = 'UPDATE' THEN
    IF NOT EXISTS (
      SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
      WHERE (o.workspace_id, o.conversation_id, o.created_at) IS DISTINCT FROM (n.workspace_id, n.conversation_id, n.created_at)) THEN
      RETURN NULL;
    END IF;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    PERFORM parley_analytics_lock(ARRAY(SELECT workspace_id FROM old_rows));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM parley_analytics_lock(ARRAY(SELECT workspace_id FROM new_rows));
  END IF;
  IF TG_OP <> 'INSERT' THEN
    PERFORM parley_analytics_apply(ARRAY(
      SELECT ROW(m.workspace_id, parley_local_day(m.created_at, coalesce(z.timezone, 'UTC')), coalesce(c.channel_id, ''), coalesce(c.assignee_id, ''),
                 NULL, NULL, NULL, 0, -count(*)::int, 0)::parley_analytics_delta
      FROM old_rows m JOIN conversations c ON c.id = m.conversation_id LEFT JOIN analytics_zones z ON z.workspace_id = m.workspace_id
      GROUP BY m.workspace_id, parley_local_day(m.created_at, coalesce(z.timezone, 'UTC')), coalesce(c.channel_id, ''), coalesce(c.assignee_id, '')));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM parley_analytics_apply(ARRAY(
      SELECT ROW(m.workspace_id, parley_local_day(m.created_at, coalesce(z.timezone, 'UTC')), coalesce(c.channel_id, ''), coalesce(c.assignee_id, ''),
                 NULL, NULL, NULL, 0, count(*)::int, 0)::parley_analytics_delta
      FROM new_rows m JOIN conversations c ON c.id = m.conversation_id LEFT JOIN analytics_zones z ON z.workspace_id = m.workspace_id
      GROUP BY m.workspace_id, parley_local_day(m.created_at, coalesce(z.timezone, 'UTC')), coalesce(c.channel_id, ''), coalesce(c.assignee_id, '')));
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER messages_to_analytics_insert AFTER INSERT ON messages REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION parley_analytics_messages_changed();
--> statement-breakpoint
CREATE TRIGGER messages_to_analytics_update AFTER UPDATE ON messages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION parley_analytics_messages_changed();
--> statement-breakpoint
CREATE TRIGGER messages_to_analytics_delete AFTER DELETE ON messages REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION parley_analytics_messages_changed();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_analytics_conversation_tags_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM parley_analytics_lock(ARRAY(SELECT c.workspace_id FROM old_rows o JOIN conversations c ON c.id = o.conversation_id));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM parley_analytics_lock(ARRAY(SELECT c.workspace_id FROM new_rows n JOIN conversations c ON c.id = n.conversation_id));
  END IF;
  IF TG_OP <> 'INSERT' THEN
    PERFORM parley_analytics_apply_tags(ARRAY(
      SELECT ROW(c.workspace_id, parley_local_day(c.created_at, coalesce(z.timezone, 'UTC')), coalesce(c.channel_id, ''), coalesce(c.assignee_id, ''), o.tag_id, -count(*)::int)::parley_analytics_tag_delta
      FROM old_rows o JOIN conversations c ON c.id = o.conversation_id LEFT JOIN analytics_zones z ON z.workspace_id = c.workspace_id
      GROUP BY c.workspace_id, parley_local_day(c.created_at, coalesce(z.timezone, 'UTC')), coalesce(c.channel_id, ''), coalesce(c.assignee_id, ''), o.tag_id));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM parley_analytics_apply_tags(ARRAY(
      SELECT ROW(c.workspace_id, parley_local_day(c.created_at, coalesce(z.timezone, 'UTC')), coalesce(c.channel_id, ''), coalesce(c.assignee_id, ''), n.tag_id, count(*)::int)::parley_analytics_tag_delta
      FROM new_rows n JOIN conversations c ON c.id = n.conversation_id LEFT JOIN analytics_zones z ON z.workspace_id = c.workspace_id
      GROUP BY c.workspace_id, parley_local_day(c.created_at, coalesce(z.timezone, 'UTC')), coalesce(c.channel_id, ''), coalesce(c.assignee_id, ''), n.tag_id));
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER conversation_tags_to_analytics_insert AFTER INSERT ON conversation_tags REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION parley_analytics_conversation_tags_changed();
--> statement-breakpoint
CREATE TRIGGER conversation_tags_to_analytics_update AFTER UPDATE ON conversation_tags REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION parley_analytics_conversation_tags_changed();
--> statement-breakpoint
CREATE TRIGGER conversation_tags_to_analytics_delete AFTER DELETE ON conversation_tags REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION parley_analytics_conversation_tags_changed();
--> statement-breakpoint
-- Existing rows.
SELECT parley_analytics_rebuild(id) FROM workspaces;
