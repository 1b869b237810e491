import type { Server } from 'node:http';

/** Closes a test's HTTP server now: its held (keep-alive or still answering) connections are cut, not waited for. */
export async function closeServer(server: Server | undefined): Promise<void> {
  if (server === undefined) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}
