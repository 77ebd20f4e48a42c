// The insights function: analytics, the account and its usage.
import { createApp } from "../../lib/create-app";
import { accountRouter } from "./account";
import { analyticsRouter } from "./analytics";

export const app = createApp().route("/", accountRouter).route("/", analyticsRouter);
