DROP INDEX "conversations_workspace_resolved_idx";--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "sentiment" text GENERATED ALWAYS AS (summary->>'sentiment') STORED;--> statement-breakpoint
CREATE INDEX "conversations_analytics_created_idx" ON "conversations" USING btree ("workspace_id","created_at","status","source","channel_id","assignee_id","first_response_at","sentiment","id");--> statement-breakpoint
CREATE INDEX "conversations_analytics_resolved_idx" ON "conversations" USING btree ("workspace_id","resolved_at","created_at","assignee_id","channel_id") WHERE "conversations"."resolved_at" is not null;--> statement-breakpoint
CREATE INDEX "conversation_tags_workspace_idx" ON "conversation_tags" USING btree ("workspace_id","conversation_id","tag_id");