// worker_threads entry of the group sync: the single writer of the shared snapshot.
// LDAP I/O, expansion and encoding happen here so the HTTP thread only ever does an
// atomic load (and one decode per generation) to answer groupsOf().
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts';
import { SnapshotWriter } from './snapshot-store.ts';
import { SyncEngine } from './sync-engine.ts';
import { levelLogger } from '../ops/logger.ts';
import { errorText } from './log.ts';
import { startSyncLoop } from './shared-sync.ts';

if (!parentPort) throw new Error('sync.worker must run in a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const send = (m: FromWorker): void => port.postMessage(m);

// Log events go to the main thread, which logs them through its own Logger.
const log = levelLogger((level, msg, fields) => send({ type: 'log', level, msg, fields }));

const writer = new SnapshotWriter(init.store);
writer.addReaderPort(init.readerPort);
const engine = new SyncEngine({
  config: init.config,
  writer,
  log,
  expand: init.expand,
  onStatus: (status) => send({ type: 'status', status }),
  // Shared: the loop in shared-sync.ts decides when this instance syncs.
  schedule: init.shared === undefined,
  keepBody: init.shared !== undefined,
});
// Started once the snapshot file (if any) is restored; the first sync's end is reported
// separately, so the HTTP side can listen (and refuse logins with a retryable 503) meanwhile.
const loop = await startSyncLoop(engine, init.shared, log, (status) => send({ type: 'shared-status', status }));

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'sync':
      loop.syncNow().then(
        (result) => send({ type: 'sync-result', id: m.id, result }),
        (e: unknown) => send({ type: 'sync-result', id: m.id, error: errorText(e) }),
      );
      break;
    case 'add-reader':
      writer.addReaderPort(m.port);
      send({ type: 'reader-added', id: m.id });
      break;
    case 'close':
      void loop.close().then(() => {
        send({ type: 'closed' });
        port.close();
      });
      break;
  }
});

send({ type: 'started', restored: loop.restored, status: engine.status });
await loop.firstSync.catch(() => undefined);
send({ type: 'first-sync', status: engine.status });
