DROP INDEX "conversations_workspace_created_idx";--> statement-breakpoint
DROP INDEX "conversations_workspace_status_created_idx";--> statement-breakpoint
DROP INDEX "conversations_workspace_updated_idx";--> statement-breakpoint
DROP INDEX "conversations_workspace_last_message_idx";--> statement-breakpoint
CREATE INDEX "conversations_workspace_created_idx" ON "conversations" USING btree ("workspace_id","created_at","id");--> statement-breakpoint
CREATE INDEX "conversations_workspace_status_created_idx" ON "conversations" USING btree ("workspace_id","status","created_at","id");--> statement-breakpoint
CREATE INDEX "conversations_workspace_updated_idx" ON "conversations" USING btree ("workspace_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "conversations_workspace_last_message_idx" ON "conversations" USING btree ("workspace_id","last_message_at" DESC NULLS LAST,"id" DESC NULLS LAST);