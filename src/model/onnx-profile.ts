import { readFile } from 'node:fs/promises';
import { MedStreamError } from '../errors.js';

/**
 * Summary of an onnxruntime profile (the Chrome-trace JSON its profiler writes): time per
 * operator type over all runs. Node events are `{cat: 'Node', name: '<node>_kernel_time',
 * dur: µs, args: {op_name, ...}}`; the profiler also records `_fence_before`/`_fence_after`
 * markers and session events, which are not kernel time and are left out.
 */
export interface OpTime {
  op: string;
  /** Kernel microseconds summed over all runs. */
  us: number;
  /** Share of all kernel time. */
  share: number;
  /** Kernel invocations. */
  calls: number;
}

export interface ProfileSummary {
  /** Runs of the model (`model_run` events). */
  runs: number;
  /** Wall microseconds of all runs (from the `model_run` events). */
  runUs: number;
  /** Kernel microseconds of all nodes (≤ runUs; the rest is the session's own overhead). */
  kernelUs: number;
  byOp: OpTime[];
  /** The most expensive nodes by name. */
  topNodes: { node: string; op: string; us: number; share: number }[];
}

interface TraceEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string };
}

const KERNEL_SUFFIX = '_kernel_time';

export function summarizeProfile(events: readonly TraceEvent[], topNodes = 10): ProfileSummary {
  let runs = 0;
  let runUs = 0;
  let kernelUs = 0;
  const ops = new Map<string, { us: number; calls: number }>();
  const nodes = new Map<string, { op: string; us: number }>();
  for (const e of events) {
    const dur = e.dur ?? 0;
    if (e.cat === 'Session' && e.name === 'model_run') {
      runs += 1;
      runUs += dur;
      continue;
    }
    if (e.cat !== 'Node' || e.name === undefined || !e.name.endsWith(KERNEL_SUFFIX)) continue;
    const op = e.args?.op_name ?? 'unknown';
    kernelUs += dur;
    const o = ops.get(op) ?? { us: 0, calls: 0 };
    o.us += dur;
    o.calls += 1;
    ops.set(op, o);
    const node = e.name.slice(0, -KERNEL_SUFFIX.length);
    const n = nodes.get(node) ?? { op, us: 0 };
    n.us += dur;
    nodes.set(node, n);
  }
  const share = (us: number): number => (kernelUs > 0 ? Number((us / kernelUs).toFixed(4)) : 0);
  return {
    runs,
    runUs,
    kernelUs,
    byOp: [...ops.entries()]
      .map(([op, o]) => ({ op, us: o.us, share: share(o.us), calls: o.calls }))
      .sort((a, b) => b.us - a.us),
    topNodes: [...nodes.entries()]
      .map(([node, n]) => ({ node, op: n.op, us: n.us, share: share(n.us) }))
      .sort((a, b) => b.us - a.us)
      .slice(0, topNodes),
  };
}

export async function readProfile(path: string, topNodes = 10): Promise<ProfileSummary> {
  let events: unknown;
  try {
    events = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new MedStreamError('INTERNAL', `${path}: not an onnxruntime profile`, {
      cause: error,
    });
  }
  if (!Array.isArray(events)) {
    throw new MedStreamError('INTERNAL', `${path}: expected a JSON array of trace events`);
  }
  return summarizeProfile(events as TraceEvent[], topNodes);
}
