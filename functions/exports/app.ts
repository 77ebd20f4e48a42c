// The exports function: exports of conversations (csv, json, markdown, pdf).
import { createApp } from "../../lib/create-app";
import { exportsRouter } from "./exports";

export const app = createApp().route("/", exportsRouter);
