// The exports job: renders one export (pdf, csv, json, markdown) into storage.
import { z } from "@hono/zod-openapi";
import { createJobApp } from "../../lib/jobs";

export const ExportPayload = z.object({
  workspace_id: z.string().min(1).max(100).openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  export_id: z.string().min(1).max(100).openapi({ example: "exp_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
});
export type ExportPayload = z.infer<typeof ExportPayload>;

export const app = createJobApp(
  "exports",
  ExportPayload,
  // The export work is filled in by the exports area; until then the run is recorded only.
  async () => ({}),
  {
    summary: "Render an export",
    description: "Renders one export into storage, updating its progress, and makes its download URL available.",
  },
);
