// The exports function: exports of conversations (csv, json, markdown, pdf).
import { createApp } from "../../lib/create-app";

export const app = createApp();
