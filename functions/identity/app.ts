// The identity function: workspaces, auth, API keys, agents and workspace settings.
import { createApp } from "../../lib/create-app";
import { agentsRouter } from "./agents";
import { apiKeysRouter } from "./api-keys";
import { authRouter } from "./auth";
import { settingsRouter } from "./settings";

export const app = createApp().route("/", authRouter).route("/", apiKeysRouter).route("/", agentsRouter).route("/", settingsRouter);
