// The tags function: workspace tags CRUD (entity tags live with their entities' areas).
import { createApp } from "../../lib/create-app";
import { tagsRouter } from "./tags";

export const app = createApp().route("/", tagsRouter);
