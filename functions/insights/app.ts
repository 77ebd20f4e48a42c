// The insights function: analytics, the account and its usage.
import { createApp } from "../../lib/create-app";

export const app = createApp();
