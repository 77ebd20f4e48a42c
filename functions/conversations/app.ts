// The conversations function: conversations, their messages and tags, and message capture.
import { createApp } from "../../lib/create-app";
import { captureRouter } from "./capture";
import { conversationsRouter } from "./conversations";
import { messagesRouter } from "./messages";
import { searchRouter } from "./search";
import { summariesRouter } from "./summaries";

export const app = createApp()
  // First: POST /v1/conversations/search must win over any POST /v1/conversations/{id} route.
  .route("/", searchRouter)
  .route("/", conversationsRouter).route("/", messagesRouter).route("/", captureRouter).route("/", summariesRouter);
