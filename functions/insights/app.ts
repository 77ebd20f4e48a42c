// The insights function: analytics, the account and its usage.
import { createApp } from "../../lib/create-app";
import { accountRouter } from "./account";

export const app = createApp().route("/", accountRouter);
