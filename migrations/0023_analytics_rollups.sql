CREATE TABLE "analytics_daily" (
	"workspace_id" text NOT NULL,
	"day" date NOT NULL,
	"channel_id" text DEFAULT '' NOT NULL,
	"assignee_id" text DEFAULT '' NOT NULL,
	"conversations" integer DEFAULT 0 NOT NULL,
	"status_open" integer DEFAULT 0 NOT NULL,
	"status_pending" integer DEFAULT 0 NOT NULL,
	"status_snoozed" integer DEFAULT 0 NOT NULL,
	"status_resolved" integer DEFAULT 0 NOT NULL,
	"status_closed" integer DEFAULT 0 NOT NULL,
	"source_web" integer DEFAULT 0 NOT NULL,
	"source_api" integer DEFAULT 0 NOT NULL,
	"source_email" integer DEFAULT 0 NOT NULL,
	"source_whatsapp" integer DEFAULT 0 NOT NULL,
	"source_chat" integer DEFAULT 0 NOT NULL,
	"sentiment_positive" integer DEFAULT 0 NOT NULL,
	"sentiment_neutral" integer DEFAULT 0 NOT NULL,
	"sentiment_negative" integer DEFAULT 0 NOT NULL,
	"sentiment_mixed" integer DEFAULT 0 NOT NULL,
	"sentiment_none" integer DEFAULT 0 NOT NULL,
	"messages" integer DEFAULT 0 NOT NULL,
	"resolved" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "analytics_daily_workspace_id_day_channel_id_assignee_id_pk" PRIMARY KEY("workspace_id","day","channel_id","assignee_id")
);
--> statement-breakpoint
CREATE TABLE "analytics_daily_tags" (
	"workspace_id" text NOT NULL,
	"day" date NOT NULL,
	"channel_id" text DEFAULT '' NOT NULL,
	"assignee_id" text DEFAULT '' NOT NULL,
	"tag_id" text NOT NULL,
	"conversations" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "analytics_daily_tags_workspace_id_day_channel_id_assignee_id_tag_id_pk" PRIMARY KEY("workspace_id","day","channel_id","assignee_id","tag_id")
);
--> statement-breakpoint
CREATE TABLE "analytics_zones" (
	"workspace_id" text PRIMARY KEY NOT NULL,
	"timezone" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "analytics_daily" ADD CONSTRAINT "analytics_daily_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "analytics_daily_tags" ADD CONSTRAINT "analytics_daily_tags_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "analytics_zones" ADD CONSTRAINT "analytics_zones_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;