// The files function: file uploads, attachments and signed downloads.
import { createApp } from "../../lib/create-app";

export const app = createApp();
