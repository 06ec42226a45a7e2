// Linux /proc readings for the benchmarks: memory and CPU of a server process and of the machine.
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
