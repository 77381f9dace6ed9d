import type { Config } from '../config/types.js';

/**
 * A long-lived part of the process built by main.ts. start() binds its sockets;
 * reload() applies a new configuration without dropping calls (SIGHUP);
 * close() is idempotent and releases everything. main.ts closes parts in the
 * reverse order of start.
 */
export interface Component {
  start(): Promise<void>;
  reload(config: Config): void;
  close(): Promise<void>;
}
