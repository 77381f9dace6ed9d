/** The configuration module (SPEC §2, §3): load.ts's API and the Config types. */
export * from './load.js';
export type * from './types.js';
export { defaultConfig } from './defaults.js';
export { CONFIG_KEYWORDS, REPEATABLE_KEYWORDS, type Keyword } from './schema.js';
