ALTER TABLE "automation_runs" ADD COLUMN "reason" text;--> statement-breakpoint
ALTER TABLE "automation_runs" ADD COLUMN "finished_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "automation_runs" ADD COLUMN "duration_ms" integer;--> statement-breakpoint
ALTER TABLE "automations" ADD COLUMN "webhook_secret" text;--> statement-breakpoint
CREATE INDEX "conversations_workspace_resolved_idx" ON "conversations" USING btree ("workspace_id","resolved_at") WHERE "conversations"."resolved_at" is not null;--> statement-breakpoint
CREATE INDEX "messages_workspace_created_idx" ON "messages" USING btree ("workspace_id","created_at");