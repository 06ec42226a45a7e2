// Linux /proc readings for the benchmarks: memory and CPU of a server process and of the machine.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** VmRSS and VmHWM of a process in kB, or null when the process is gone. */
export function memoryKb(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name) => {
    const m = text.match(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm'));
    return m ? Number(m[1]) : null;
  };
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** Every descendant pid of a process (children, their children, ...). */
export function descendants(pid) {
  const out = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop();
    let tasks;
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      let kids = '';
      try {
        kids = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.split(/\s+/).filter(Boolean)) {
        out.push(Number(k));
        stack.push(Number(k));
      }
    }
  }
  return out;
}

/**
 * Samples the RSS of a process and its descendants every `intervalMs` and keeps the maximum.
 * `stop()` returns { maxKb, samples, sawDescendants }.
 */
export function startRssSampler(pid, intervalMs = 200) {
  let maxKb = 0;
  let samples = 0;
  let sawDescendants = false;
  const sample = () => {
    const own = memoryKb(pid);
    if (!own || own.rss == null) return;
    let total = own.rss;
    for (const d of descendants(pid)) {
      const m = memoryKb(d);
      if (m?.rss != null) {
        total += m.rss;
        sawDescendants = true;
      }
    }
    samples += 1;
    if (total > maxKb) maxKb = total;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { maxKb, samples, sawDescendants };
    },
  };
}

/** utime+stime of a process in clock ticks (null when gone). */
export function processTicks(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // fields after "(comm)": state is field 3; utime 14, stime 15, cutime 16, cstime 17
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const f = (n) => Number(rest[n - 3]);
  return { own: f(14) + f(15), children: f(16) + f(17) };
}

/** Machine-wide CPU ticks from /proc/stat: { busy, total }. */
export function machineTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** How many cores the machine kept busy (any process) over `ms` milliseconds. */
export async function busyCores(ms, cpus) {
  const a = machineTicks();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineTicks();
  const elapsed = (b.total - a.total) / cpus;
  return elapsed > 0 ? (b.busy - a.busy) / elapsed : 0;
}

/** Clock ticks per second of the tick counts in /proc (USER_HZ; 100 on Linux's usual builds). */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * utime+stime of each live thread of a process, in clock ticks: Map tid → { name, ticks }. The name is the
 * thread's comm (Switchboard names its SQLite threads sb-writer, sb-admin and sb-reader); the main thread's
 * tid is the pid. Null when the process is gone.
 */
export function threadTicks(pid) {
  let tids;
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const out = new Map();
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
      const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), { name, ticks: Number(rest[14 - 3]) + Number(rest[15 - 3]) });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/**
 * CPU ticks of a process's main thread and of the threads named `name` between two threadTicks() readings
 * (a thread started in between counts from zero), and the whole process's (processTicks().own) difference.
 */
export function threadSplit(pid, t0, t1, p0, p1, name) {
  const diff = (pick) => {
    let sum = 0;
    for (const [tid, t] of t1) if (pick(tid, t)) sum += t.ticks - (t0.get(tid)?.ticks ?? 0);
    return sum;
  };
  const total = p1.own - p0.own;
  const main = diff((tid) => tid === pid);
  const named = diff((_tid, t) => t.name === name);
  return { total, main, named, other: total - main - named };
}

/**
 * A process's I/O counters from one read of /proc/<pid>/io, or null: `writeBytes` (bytes it caused to be
 * written to storage, write_bytes; null when the kernel does not count them) and the read and write system
 * calls it made (`reads`, `writes`: syscr, syscw; sockets and files).
 */
export function ioCounters(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/io`, 'utf8');
  } catch {
    return null;
  }
  const field = (name) => {
    const m = text.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm'));
    return m ? Number(m[1]) : null;
  };
  return { writeBytes: field('write_bytes'), reads: field('syscr'), writes: field('syscw') };
}

/** Bytes a process caused to be written to storage (/proc/<pid>/io write_bytes), or null. */
export function writeBytes(pid) {
  return ioCounters(pid)?.writeBytes ?? null;
}
