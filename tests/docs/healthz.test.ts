import { describe, expect, it } from "vitest";
import { createDispatch } from "../../lib/local/dispatch";
import { createLocalServices } from "../../lib/local/services";
import type { ServiceProvider } from "../../lib/services";
import { createHarness, expectError } from "../support/harness";

const h = await createHarness();

/** A provider like the harness's, with some members replaced. */
function patched(base: ServiceProvider, patch: (s: ReturnType<ServiceProvider>) => Partial<ReturnType<ServiceProvider>>): ServiceProvider {
  return (ctx) => {
    const s = base(ctx);
    return { ...s, ...patch(s) } as ReturnType<ServiceProvider>;
  };
}

const get = (dispatch: (r: Request) => Promise<Response>) => dispatch(new Request("http://127.0.0.1:8787/healthz"));

describe("GET /healthz", () => {
  it("answers 200 with the dependencies' state and the version, without credentials", async () => {
    const r = await h.call("GET", "/healthz");
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: "ok", database: "ok", redis: "ok", version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(r.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("answers 503 in the error shape when the database is closed", async () => {
    const services = await createLocalServices({ dataDir: null, env: { DATABASE_URL: process.env.DATABASE_URL ?? "" }, environment: "test" });
    const dispatch = createDispatch(services.provider);
    const before = await get(dispatch);
    expect(before.status, await before.text()).toBe(200);
    await services.close();
    const r = await get(dispatch);
    const body: any = await r.json();
    expect(r.status, JSON.stringify(body)).toBe(503);
    expect(body.error).toMatchObject({ code: "service_unavailable", message: "The database does not answer.", request_id: expect.stringMatching(/^req_/) });
    // Nothing internal leaks into the answer.
    expect(JSON.stringify(body)).not.toMatch(/closed|PGlite|pool|stack/i);
  });

  it("answers 503 when the database refuses connections, even when opening it throws", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    const throwingDb = patched(h.services.provider, () => ({
      db: new Proxy({} as ReturnType<ServiceProvider>["db"], {
        get: () => () => Promise.reject(refused),
      }),
    }));
    expectError(await reply(await get(createDispatch(throwingDb))), 503, "service_unavailable");

    // On Workers the pool is opened when `services.db` is first read: that can throw too.
    const openFails: ServiceProvider = (ctx) => {
      const s = h.services.provider(ctx);
      return Object.defineProperty({ ...s }, "db", {
        get() {
          throw refused;
        },
      });
    };
    expectError(await reply(await get(createDispatch(openFails))), 503, "service_unavailable");
  });

  it("stays 200 and reports redis unavailable when only Redis is down", async () => {
    const noRedis = patched(h.services.provider, (s) => ({ kv: { ...s.kv, get: () => Promise.reject(new Error("redis down")) } }));
    const r = await get(createDispatch(noRedis));
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: "ok", database: "ok", redis: "unavailable" });
  });
});

async function reply(res: Response) {
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), headers: res.headers, text };
}
