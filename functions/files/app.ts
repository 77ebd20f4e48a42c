// The files function: file uploads, conversation attachments and signed downloads. Its body
// limit is the upload limit plus room for the multipart framing.
import { createApp } from "../../lib/create-app";
import { MAX_UPLOAD_BYTES } from "../../lib/storage-quota";
import { attachmentsRouter } from "./attachments";
import { filesRouter } from "./files";

export const app = createApp({ bodyLimit: MAX_UPLOAD_BYTES + 64 * 1024 }).route("/", filesRouter).route("/", attachmentsRouter);
