// The contacts function: contacts, sessions, identify, merge, and their entity tags.
import { createApp } from "../../lib/create-app";
import { contactsRouter } from "./contacts";
import { entityTagRoutes } from "./entity-tags";
import { sessionsRouter } from "./sessions";

export const app = createApp()
  .route("/", contactsRouter)
  .route("/", sessionsRouter)
  .route("/", entityTagRoutes("contact", "Contacts"))
  .route("/", entityTagRoutes("session", "Sessions"));
