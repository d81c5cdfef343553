// Preloaded into the Tokenmeter arm by `--heap-sample` (node --import): V8's sampling heap profiler
// from start to SIGTERM, counting every sampled allocation, kept or collected — what makes the
// scavenges. Written to $BENCH_HEAP_DIR/heap-PID.heapprofile when the bench stops the proxy (the
// inspector answers synchronously, so this runs before the CLI's own SIGTERM handler exits).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import * as path from 'node:path';

const dir = process.env.BENCH_HEAP_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  process.prependListener('SIGTERM', () => {
    session.post('HeapProfiler.stopSampling', (err, r) => {
      if (!err) {
        writeFileSync(path.join(dir, `heap-${process.pid}.heapprofile`), JSON.stringify(r.profile));
      }
    });
  });
}
