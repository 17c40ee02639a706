import cluster from 'node:cluster';
import { appConfigFromEnv } from '../../src/common/config/config.module';
import { applyServerLimits } from '../../src/common/http/server-limits';
import { serveWorkerScrapes } from '../../src/metrics/cluster-metrics';
import { createApp } from './bootstrap';
import { superviseWorkers } from './workers';

async function main(): Promise<void> {
  // Validate first, so a configuration mistake reads as one short message rather than a stack trace.
  const { http } = appConfigFromEnv();
  if (http.workers > 1 && cluster.isPrimary) {
    // A scrape reaching any worker answers for all of them: the primary gathers their registries.
    serveWorkerScrapes();
    return superviseWorkers(http.workers, http.shutdownGraceMs);
  }
  const app = await createApp();
  const server = app.getHttpServer();
  applyServerLimits(server, http);
  await app.listen(http.port, http.host);
  // Keep-alive sockets must not hold up shutdown beyond the grace period.
  process.once('SIGTERM', () => setTimeout(() => server.closeAllConnections?.(), http.shutdownGraceMs).unref());
}

main().catch((err: Error) => {
  // Configuration errors are meant to be read by a person: print the message, not a stack.
  process.stderr.write(`The API could not start: ${err.message}\n`);
  process.exit(1);
});
