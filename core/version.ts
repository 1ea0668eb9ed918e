import pkg from "../package.json" with { type: "json" };

/** The platform's release version, reported by health, metrics and error reports. */
export const PLATFORM_VERSION: string = pkg.version;
