// The export job's chunk protocol, driven directly: a redelivered or re-published chunk renders
// nothing twice, a chunk that arrives early is retried, and a rendering failure fails the export.
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { chunkOverride, type ExportPayload, runExportChunk } from "../../functions/jobs/exports";
import { DependencyError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import type { Queue } from "../../lib/queue";
import type { Services } from "../../lib/services";
import { exports } from "../../schema/exports";
import { files } from "../../schema/files";
import { createHarness, type Tenant } from "../support/harness";
import { parseCsv, seedConversation } from "./helpers";

const h = await createHarness();

afterEach(() => {
  chunkOverride.rows = null;
});

/** The request's services with a queue that records what the job publishes instead of sending it. */
function servicesWithRecorder() {
  const published: ExportPayload[] = [];
  const base = h.services.provider({ env: {} as never, waitUntil() {}, defer() {} });
  const queue = { ...base.queue, publish: async (_job: string, payload: unknown) => {
      published.push(payload as ExportPayload);
      return { messageId: "m", key: "k", deduplicated: false };
    },
  } as Queue;
  const services: Services = { ...base, queue };
  return { services, published };
}

async function newExport(t: Tenant, format: "csv" | "pdf" = "csv") {
  const id = newId("exp");
  await h.services.db.insert(exports).values({ id, workspaceId: t.workspaceId, format, options: { include_messages: false, include_attachments: false }, total: 5 });
  return id;
}

const run = (services: Services, payload: ExportPayload, retried = 0) => h.services.db.transaction((tx) => runExportChunk(tx, payload, { retried, services }));

describe("export chunks under redelivery", () => {
  it("a chunk delivered again renders nothing twice; an early chunk is retried; the file has each row once", async () => {
    const t = await h.signUp();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await seedConversation(h, t, { title: `R${i}`, createdAt: new Date(Date.UTC(2026, 9, 1, 0, 0, i)) }));
    const exportId = await newExport(t);
    chunkOverride.rows = 2;
    const { services, published } = servicesWithRecorder();
    const p = (chunk: number) => ({ workspace_id: t.workspaceId, export_id: exportId, chunk });

    expect(await run(services, p(0))).toMatchObject({ rows: 2 });
    expect(published).toEqual([p(1)]);
    // Chunk 0 again (a re-publish under another key, or a retry after a lost ack): a no-op.
    expect(await run(services, p(0))).toMatchObject({ skipped: expect.stringContaining("already rendered") });
    // Chunk 2 before chunk 1 committed: a transient failure, so QStash delivers it again later.
    await expect(run(services, p(2))).rejects.toBeInstanceOf(DependencyError);
    const [mid] = await h.services.db.select().from(exports).where(eq(exports.id, exportId));
    expect(mid).toMatchObject({ status: "processing", parts: 1, processed: 2, progress: 40 });

    expect(await run(services, p(1))).toMatchObject({ rows: 2 });
    expect(await run(services, p(1))).toMatchObject({ skipped: expect.any(String) });
    expect(await run(services, p(2))).toMatchObject({ rows: 1, completed: true });
    expect(published).toEqual([p(1), p(2)]);
    // After completion every chunk is a no-op.
    expect(await run(services, p(2))).toMatchObject({ skipped: "export is completed" });

    const [done] = await h.services.db.select().from(exports).where(eq(exports.id, exportId));
    expect(done).toMatchObject({ status: "completed", progress: 100, parts: 3, processed: 5 });
    const [file] = await h.services.db.select().from(files).where(eq(files.id, done!.fileId!));
    const obj = await services.storage.get(file!.storageKey);
    const rows = parseCsv(new TextDecoder().decode(obj!.body)).slice(1);
    expect(rows.map((r) => r[0])).toEqual(ids);
    // The parts are gone from storage.
    expect(await services.storage.get(`${t.workspaceId}/exports/${exportId}/part-000000`)).toBeNull();
  });

  it("a rendering failure marks the export failed with an error; a transient one is retried until the last attempt", async () => {
    const t = await h.signUp();
    await seedConversation(h, t, { title: "x" });
    const { services } = servicesWithRecorder();
    const broken = { ...services, storage: { ...services.storage, put: () => Promise.reject(new DependencyError("storage down")) } } as Services;
    const exportId = await newExport(t);
    const p = { workspace_id: t.workspaceId, export_id: exportId, chunk: 0 };
    await expect(run(broken, p, 0)).rejects.toBeInstanceOf(DependencyError);
    expect((await h.services.db.select().from(exports).where(eq(exports.id, exportId)))[0]!.status).toBe("processing");
    expect(await run(broken, p, 5)).toEqual({ failed: true });
    const [e] = await h.services.db.select().from(exports).where(eq(exports.id, exportId));
    expect(e).toMatchObject({ status: "failed", error: { code: "export_failed" } });
    const got = await h.call("GET", `/v1/exports/${exportId}`, { token: t.token });
    expect(got.body).toMatchObject({ status: "failed", download_url: null, error: { code: "export_failed", message: expect.any(String) } });
  });
});
