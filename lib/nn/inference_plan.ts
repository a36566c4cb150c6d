// InferencePlan: model.predict(x) recorded once as the sequence of its native kernel calls
// (and the few JS steps that take part in the result), then replayed with no model code in
// between. At small batches the JS between kernels costs 20-25 us a gap once a kernel has
// evicted it from the caches (GoogLeNet at batch 1: 1.4 of 11.7 ms); the replay skips it.
//
// A recording is trusted only after it has reproduced, bit for bit, a normal predict() on a
// second, different input; a pass with a JS computation that did not register itself (see
// call_recorder.runStep) fails that check and the plan keeps using predict(). A recording is
// made again whenever the input shape, the weights (the data epoch of markDataChanged), any
// parameter or buffer tensor, the module tree, the backend or its ISA / convolution policy
// changes, and predict() runs instead while any module has a hook.

import { Tensor, currentDataEpoch } from '../tensor';
import { Module, hasOwnForward } from './module';
import { backend, getBackend, getConvAlgorithm } from '../backend/select';
import type { Backend } from '../backend/backend';
import { startRecording, stopRecording } from '../backend/call_recorder';
import type { RecordedStep } from '../backend/call_recorder';

interface Tape {
  steps: RecordedStep[];
  /** Per native step, the indices of its arguments that view the recorded input. */
  inputArgs: number[][];
  inputData: Float32Array;
  output: Float32Array;
  outputShape: number[];
}

interface Key {
  backend: Backend;
  isa: string;
  convPolicy: string;
  shape: number[];
  epoch: number;
}

/**
 * What the model was made of when recorded: every module's fields that hold a module or a
 * tensor (parameters, submodules) and its registered buffers, as [owner, name, value]; read
 * back field by field on each run (walking the tree with Object.keys cost 0.3-0.5 ms a
 * pass on GoogLeNet, a third of what the replay saves).
 */
interface Structure {
  modules: Module[];
  fields: Array<[Record<string, unknown>, string, unknown]>;
  buffers: Array<[Module, string, Tensor]>;
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function structureOf(model: Module): Structure {
  const modules = model.modules();
  const fields: Structure['fields'] = [];
  const buffers: Structure['buffers'] = [];
  for (const m of modules) {
    const self = m as unknown as Record<string, unknown>;
    const members = (m as unknown as { members(): Array<[string, unknown]> }).members();
    for (const [k, v] of members) if (v instanceof Module || v instanceof Tensor) fields.push([self, k, v]);
    for (const [k, t] of m.namedOwnBuffers()) buffers.push([m, k, t]);
  }
  return { modules, fields, buffers };
}

function unchanged(s: Structure): boolean {
  for (const [owner, k, v] of s.fields) if (owner[k] !== v) return false;
  for (const [m, k, t] of s.buffers) {
    try {
      if (m.getBuffer(k) !== t) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** The first module with hooks or a forward of its own (set on the instance), or null. */
function hookedModule(modules: readonly Module[]): Module | null {
  for (const m of modules) if (hasOwnForward(m)) return m;
  return null;
}

export class InferencePlan {
  readonly model: Module;
  private key: Key | null = null;
  private structure: Structure | null = null;
  private tape: Tape | null = null;
  /** Why the current key cannot be replayed (null: replayable or not yet recorded). */
  private refused: string | null = null;
  private replays = 0;

  constructor(model: Module) {
    if (!(model instanceof Module)) {
      throw new TypeError(`InferencePlan: model must be a Module, got ${model === null ? 'null' : typeof model}`);
    }
    this.model = model;
  }

  /** model.predict(x), by replaying the recorded kernel calls when they still apply. */
  run(x: Tensor): Tensor {
    if (!(x instanceof Tensor)) return this.model.predict(x as never) as Tensor;
    const key = this.currentKey(x);
    if (key === null) return this.model.predict(x) as Tensor;
    const s = this.structure;
    if (!this.key || !this.sameKey(this.key, key) || s === null || !unchanged(s) || hookedModule(s.modules) !== null) {
      this.key = key;
      this.tape = null;
      this.refused = null;
      this.structure = structureOf(this.model);
      const hooked = hookedModule(this.structure.modules);
      if (hooked) {
        this.refused = `a module (${hooked.typeName}) has hooks or its own forward`;
        this.key = null;  // record once the hooks are gone
        return this.model.predict(x) as Tensor;
      }
      return this.record(x);
    }
    if (this.tape === null) return this.model.predict(x) as Tensor;
    this.replays++;
    return this.replay(this.tape, x.data);
  }

  /** Why the plan runs predict() instead of its replay for the last input, or null. */
  get fallbackReason(): string | null {
    return this.refused;
  }

  /** Passes served by replay so far. */
  get replayCount(): number {
    return this.replays;
  }

  /** The state that decides whether a recording applies; null when no plan can apply. */
  private currentKey(x: Tensor): Key | null {
    if (getBackend() !== 'native') {
      this.refused = 'the active backend is not native';
      return null;
    }
    const be = backend();
    return { backend: be, isa: be.info().isa, convPolicy: getConvAlgorithm(), shape: x.shape.slice(),
      epoch: currentDataEpoch() };
  }

  private sameKey(a: Key, b: Key): boolean {
    return a.backend === b.backend && a.isa === b.isa && a.convPolicy === b.convPolicy &&
      a.epoch === b.epoch && sameList(a.shape, b.shape);
  }

  /** A normal predict() recorded, then checked on a second input; returns the first result. */
  private record(x: Tensor): Tensor {
    startRecording();
    let y: unknown;
    let rec;
    try {
      y = this.model.predict(x);
    } finally {
      rec = stopRecording();
    }
    if (!(y instanceof Tensor)) {
      this.refused = 'predict() did not return one tensor';
      return y as Tensor;
    }
    if (rec.unsupported !== null) {
      this.refused = rec.unsupported;
      return y;
    }
    // Arguments that view the input (its array, or a slice of it: ResNet's image slices).
    const lo = x.data.byteOffset, hi = lo + x.data.byteLength;
    let outside = false;
    const inputArgs = rec.steps.map((s) => (s.kind === 'native'
      ? s.args.flatMap((v, i) => {
        if (!(v instanceof Float32Array) || v.buffer !== x.data.buffer) return [];
        if (v.byteOffset < lo || v.byteOffset + v.byteLength > hi) outside = true;
        return [i];
      })
      : []));
    if (outside) {
      this.refused = 'a kernel read memory around the input array';
      return new Tensor(y.data.slice(), y.shape.slice());
    }
    const result = new Tensor(y.data.slice(), y.shape.slice());
    const tape: Tape = { steps: rec.steps, inputArgs, inputData: x.data, output: y.data, outputShape: y.shape.slice() };
    if (currentDataEpoch() !== this.key!.epoch) {
      this.refused = 'the weights changed during the recorded pass';
      return result;
    }
    // The check: a different input through the replay and then through predict(), bit for
    // bit. The replay goes first: were a JS computation missing from the tape, its output
    // buffers would still hold the recorded input's values (predict() first would refill
    // them with the probe's, and the check would pass on stale buffers).
    const probe = new Tensor(x.data.map((v, i) => v * 0.75 + ((i % 7) - 3) * 0.125), x.shape.slice());
    const got = this.replay(tape, probe.data);
    const want = this.model.predict(probe) as Tensor;
    const a = new Uint32Array(want.data.buffer, want.data.byteOffset, want.data.length);
    const b = new Uint32Array(got.data.buffer, got.data.byteOffset, got.data.length);
    if (a.length !== b.length || !a.every((v, i) => v === b[i])) {
      this.refused = 'replaying the recorded kernel calls did not reproduce predict() (a JS computation outside the kernels?)';
      return result;
    }
    this.tape = tape;
    return result;
  }

  /** The tape's steps with the input swapped for `input`; the output copied out. */
  private replay(t: Tape, input: Float32Array): Tensor {
    const base = t.inputData.byteOffset;
    for (let i = 0; i < t.steps.length; i++) {
      const s = t.steps[i];
      if (s.kind === 'js') {
        s.run();
        continue;
      }
      const swap = t.inputArgs[i];
      if (swap.length === 0) {
        s.fn(...s.args);
        continue;
      }
      const args = s.args.slice();
      for (const j of swap) {
        const v = args[j] as Float32Array;
        args[j] = new Float32Array(input.buffer, input.byteOffset + (v.byteOffset - base), v.length);
      }
      s.fn(...args);
    }
    return new Tensor(t.output.slice(), t.outputShape.slice());
  }
}
