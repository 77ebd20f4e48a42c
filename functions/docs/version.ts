// The API's version, shown in the OpenAPI document and by /healthz: the package version.
import { version } from "../../package.json";

export const API_VERSION: string = version;
