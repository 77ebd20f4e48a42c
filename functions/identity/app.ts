// The identity function: workspaces, auth, API keys, agents and workspace settings.
import { createApp } from "../../lib/create-app";
import { authRouter } from "./auth";

export const app = createApp().route("/", authRouter);
