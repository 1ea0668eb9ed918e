import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time (seconds) used so far by live postgres and node processes on this machine, from
 * /proc. Sampled around a drain it shows where the machine's two cores went: the database or the
 * worker. Empty on systems without /proc.
 */
export function cpuSeconds(): { postgres: number; node: number } {
  const ticksPerSecond = 100; // USER_HZ on Linux
  // Node names its main thread "MainThread"; the process shows as that in /proc/<pid>/stat.
  const totals = { postgres: 0, node: 0 };
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return totals;
  }
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
      if (comm === "postgres") totals.postgres += ticks / ticksPerSecond;
      else if (comm === "node" || comm === "MainThread") totals.node += ticks / ticksPerSecond;
    } catch {
      // the process ended while we read
    }
  }
  return totals;
}
