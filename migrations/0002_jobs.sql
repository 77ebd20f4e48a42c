CREATE TABLE "job_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"job" text NOT NULL,
	"dedup_key" text NOT NULL,
	"message_id" text,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 1 NOT NULL,
	"error" text,
	"result" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "job_runs_job_key" ON "job_runs" USING btree ("job","dedup_key");--> statement-breakpoint
CREATE INDEX "job_runs_workspace_idx" ON "job_runs" USING btree ("workspace_id","created_at");