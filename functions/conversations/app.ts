// The conversations function: conversations, their messages and tags, and message capture.
import { createApp } from "../../lib/create-app";
import { captureRouter } from "./capture";
import { conversationsRouter } from "./conversations";
import { messagesRouter } from "./messages";

export const app = createApp().route("/", conversationsRouter).route("/", messagesRouter).route("/", captureRouter);
