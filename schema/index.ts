// Every table of Parley, one file per area.
export * from "./identity";
export * from "./contacts";
export * from "./conversations";
export * from "./tags";
export * from "./events";
export * from "./jobs";
export * from "./assistants";
export * from "./summaries";
export * from "./channels";
export * from "./files";
export * from "./reminders";
export * from "./account";
export * from "./exports";
export * from "./deliveries";
export * from "./analytics";
