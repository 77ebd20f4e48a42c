// Routes a request to the function that owns its path, as the edge host does, handing it the
// local services. Used by the local server and by the tests (without a socket).
import { functions, route } from "../../functions/registry";
import type { Env } from "../env";
import { errorResponse } from "../errors";
import { newId } from "../ids";
import { nodeDocsAssets } from "./docs-assets";
import type { ServiceProvider } from "../services";
import type { ExecutionContext } from "hono";

/** `client`: the caller's address as the server knows it (the socket's), over any header. */
export type Dispatch = (req: Request, client?: string) => Promise<Response>;

/**
 * What Workers hand every request as its ExecutionContext. In Node a promise runs on by itself
 * (failures are caught where it is handed over), so `waitUntil` has nothing to do; without a
 * context, Hono's `c.executionCtx` throws, and every background task paid for that Error.
 */
const nodeExecutionContext: ExecutionContext = {
  waitUntil: () => {},
  passThroughOnException: () => {},
  props: {},
};

export function createDispatch(provider: ServiceProvider, env: Env = {}): Dispatch {
  // DOCS_ASSETS: Scalar's bundle read from node_modules (Workers use the ASSETS binding).
  const bindings: Env = { DOCS_ASSETS: nodeDocsAssets(), ...env, PARLEY_SERVICES: provider };
  return async (req, client) => {
    const fn = route(new URL(req.url).pathname);
    if (!fn) {
      const given = req.headers.get("x-request-id");
      const rid = given && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : newId("req");
      return errorResponse("not_found", `No route for ${req.method} ${new URL(req.url).pathname}.`, rid);
    }
    return fn.app.fetch(req, client ? { ...bindings, PARLEY_CLIENT_ADDRESS: client } : bindings, nodeExecutionContext);
  };
}

export { functions };
