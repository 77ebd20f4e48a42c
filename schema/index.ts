// Every table of Parley, one file per area.
export * from "./identity";
