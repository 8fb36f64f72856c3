// Messages between directory.ts (main thread) and sync.worker.ts.
import type { MessagePort } from 'node:worker_threads';
import type { EngineStatus, GroupSyncConfig, SyncEngineOptions, SyncResult } from './sync-engine.ts';
import type { StoreHandle } from './snapshot-store.ts';
import type { SharedSyncSettings, SharedSyncStatus } from './shared-sync.ts';

export interface WorkerInit {
  config: GroupSyncConfig;
  store: StoreHandle;
  /** The main thread's reader port (receives grown buffers). */
  readerPort: MessagePort;
  expand?: SyncEngineOptions['expand'];
  /** With Redis: the sync is shared between instances (shared-sync.ts). */
  shared?: SharedSyncSettings;
}

export type ToWorker =
  | { type: 'sync'; id: number }
  | { type: 'add-reader'; id: number; port: MessagePort }
  | { type: 'close' };

export type FromWorker =
  | { type: 'started'; restored: boolean; status: EngineStatus }
  | { type: 'status'; status: EngineStatus }
  | { type: 'shared-status'; status: SharedSyncStatus }
  | { type: 'first-sync'; status: EngineStatus }
  | { type: 'sync-result'; id: number; result?: SyncResult; error?: string }
  | { type: 'reader-added'; id: number }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }
  | { type: 'closed' };
