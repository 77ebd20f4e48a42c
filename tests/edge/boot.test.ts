// Every registry function's bundle boots in workerd and answers in the contract's error shape:
// catches a Worker that only works in Node (a Node-only import, top-level I/O, a missing
// binding check) before it is deployed.
import { describe, expect, it } from "vitest";
import { functions } from "../../functions/registry";
import { skipEdge, startWorker } from "./support";

describe.skipIf(skipEdge)("every function boots in workerd", () => {
  it.each(functions.map((f) => f.name))("%s answers an unknown path with 404 not_found", async (name) => {
    const w = await startWorker(name);
    try {
      const r = await w.call("GET", "/__no_such_route__", { headers: { "x-request-id": `boot-${name}` } });
      expect(r.status, r.text).toBe(404);
      expect(r.body.error).toMatchObject({ code: "not_found", request_id: `boot-${name}` });
      expect(r.headers.get("x-request-id")).toBe(`boot-${name}`);
    } finally {
      await w.dispose();
    }
  });
});
