// The job queue for the Workers that publish jobs (QStash over HTTP): passed to createWorker
// as an extra, so functions that never publish do not bundle the QStash client.
import { qstashQueue, type Queue } from "./queue";
import { lazy } from "./services";
import type { ExtraServices } from "./worker";

export const withQueue: ExtraServices = (services, { env }) => {
  lazy(services, "queue", (): Queue =>
    qstashQueue({ baseUrl: env.QSTASH_URL || "https://qstash.upstash.io", token: env.QSTASH_TOKEN ?? "", publicBaseUrl: () => services.config.publicBaseUrl }),
  );
};
