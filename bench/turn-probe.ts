/**
 * Tells a stall of a server's own work from time the process spent descheduled, on a shared
 * machine where both look alike from outside: a 2 ms timer reads the wall time and the main
 * thread's CPU time (process.threadCpuUsage: GC helper threads left out) at each tick. A long
 * gap in which the main thread also used most of the time is the server's own work (its code,
 * or GC on the main thread); a long gap with little CPU is the process waiting for a core.
 * bench/tails.ts starts servers as `node --import <this file> ...` with an IPC channel.
 *
 * Messages in: `{ type: 'turns-reset' }`, `{ type: 'turns' }`. Out: `{ type: 'turns', maxWallMs,
 * cpuMsInMaxWall, maxCpuMs, wallMsInMaxCpu, gapsOver50 }` over the window. Without an IPC channel
 * it does nothing.
 */
export type TurnProbeReply = { type: 'turns'; maxWallMs: number; cpuMsInMaxWall: number; maxCpuMs: number; wallMsInMaxCpu: number; gapsOver50: number };

if (process.send !== undefined && process.channel !== undefined) {
  const cpuMs = (): number => {
    const u = process.threadCpuUsage();
    return (u.user + u.system) / 1000;
  };
  let lastWall = performance.now();
  let lastCpu = cpuMs();
  let w: Omit<TurnProbeReply, 'type'> = { maxWallMs: 0, cpuMsInMaxWall: 0, maxCpuMs: 0, wallMsInMaxCpu: 0, gapsOver50: 0 };
  const timer = setInterval(() => {
    const wall = performance.now();
    const cpu = cpuMs();
    const dw = wall - lastWall;
    const dc = cpu - lastCpu;
    lastWall = wall;
    lastCpu = cpu;
    if (dw > w.maxWallMs) {
      w.maxWallMs = dw;
      w.cpuMsInMaxWall = dc;
    }
    if (dc > w.maxCpuMs) {
      w.maxCpuMs = dc;
      w.wallMsInMaxCpu = dw;
    }
    if (dw > 50) w.gapsOver50++;
  }, 2);
  timer.unref();
  const reply: (m: TurnProbeReply) => boolean = process.send.bind(process);
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'turns-reset') w = { maxWallMs: 0, cpuMsInMaxWall: 0, maxCpuMs: 0, wallMsInMaxCpu: 0, gapsOver50: 0 };
    else if (m?.type === 'turns') reply({ type: 'turns', ...w });
  });
}
