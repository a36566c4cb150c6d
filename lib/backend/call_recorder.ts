// Recording of the kernel calls of one pass, for InferencePlan (lib/nn/inference_plan.ts):
// while a recording is open, the native backend appends every addon call it makes (the
// function and its arguments, geometry copied), and JS computations on the way that take
// part in the result register themselves through runStep (F.linear's bias). A replay then
// repeats the steps in order with no model code in between.

/** One recorded step: an addon call, or a JS computation re-run as it is. */
export type RecordedStep =
  | { kind: 'native'; fn: (...args: unknown[]) => unknown; args: unknown[] }
  | { kind: 'js'; run: () => void };

export interface Recording {
  steps: RecordedStep[];
  /** Why the pass cannot be replayed (an async call, say), or null. */
  unsupported: string | null;
}

let active: Recording | null = null;

/** Opens a recording (one at a time). */
export function startRecording(): void {
  if (active) throw new Error('a kernel-call recording is already open');
  active = { steps: [], unsupported: null };
}

/** Closes the open recording and returns it. */
export function stopRecording(): Recording {
  const r = active;
  active = null;
  if (!r) throw new Error('no kernel-call recording is open');
  return r;
}

/** Whether a recording is open. */
export function isRecording(): boolean {
  return active !== null;
}

/** Called by the native backend for each addon call while a recording is open. */
export function recordNativeCall(fn: (...args: unknown[]) => unknown, args: unknown[]): void {
  if (!active) return;
  // Packed geometries are scratch arrays the backend reuses call after call: keep copies.
  active.steps.push({ kind: 'native', fn, args: args.map((v) => (v instanceof Float64Array ? Float64Array.from(v) : v)) });
}

/** Marks the open recording as not replayable. */
export function recordUnsupported(reason: string): void {
  if (active && active.unsupported === null) active.unsupported = reason;
}

/**
 * Runs a JS computation that is part of a pass's result (not a kernel call) and, while a
 * recording is open, keeps it as a step of the recording. `fn` must read and write only
 * arrays that the replay will see again (its own closure's).
 */
export function runStep(fn: () => void): void {
  fn();
  if (active) active.steps.push({ kind: 'js', run: fn });
}
