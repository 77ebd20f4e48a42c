CREATE TABLE "delivery_attempts" (
	"target_id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"attempt_id" text,
	"claimed_until" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD CONSTRAINT "delivery_attempts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "delivery_attempts_workspace_idx" ON "delivery_attempts" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "messages_delivery_queued_idx" ON "messages" USING btree ("created_at") WHERE "messages"."delivery_status" = 'queued';--> statement-breakpoint
CREATE INDEX "emails_queued_idx" ON "emails" USING btree ("created_at") WHERE "emails"."status" = 'queued';--> statement-breakpoint
CREATE INDEX "emails_message_idx" ON "emails" USING btree ("workspace_id","message_id") WHERE "emails"."message_id" is not null;