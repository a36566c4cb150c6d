// Module.summary(inputShape) and Module.predict(x).
//
// summary runs one forward pass on a zero input with a forward hook on every submodule
// and records, per module call: output shape, parameters, multiply-adds and the receptive
// field of one output unit, in input pixels, with its jump (the distance in input pixels
// between neighbouring output units, i.e. the product of the strides so far).
//
// Receptive fields follow the recurrence of the study notes (and Araujo et al., Distill
// 2019): a layer with kernel k, dilation d and stride s maps (r, j) to
//   r' = r + (d (k - 1)) j,   j' = j s.
// Each tensor carries its (r, j) per spatial axis. A module output gets its value from the
// module's geometry (conv, pooling: anything with kernelSize/stride fields, adaptive
// pooling from its bin sizes). Tensors made by plain functions between modules (ReLU, the
// residual add, the Inception concat, flatten...) are traced through the autograd tape:
// they take the element-wise maximum over the inputs they were computed from, so a join
// of branches sees its widest branch; a flatten of an [N, C, H, W] map into features sees
// the whole map (like a kernel the size of the map). The tape is recorded only for this
// pass: the input requires a gradient, nothing is ever backpropagated.
//
// Multiply-adds count one per weight use: a conv's output element costs Cin/groups x kH x kW,
// a Linear's output element costs its inFeatures, a BatchNorm's output element 1; layers
// without weights count 0. A module may define multAdds(inputShape, outputShape) and
// receptiveField(rf, inputShape, outputShape) to override either.
import { Tensor, markDataChanged } from '../tensor';
import { noGrad, setGradEnabled } from '../autograd/engine';
import { Parameter } from './parameter';
import type { Module, RemovableHandle } from './module';

/** Receptive field (r) and jump (j) per spatial axis [H, W]. */
export interface ReceptiveField {
  r: [number, number];
  j: [number, number];
}

export interface SummaryRow {
  /** Dotted module path (`layer1.0.conv1`). */
  name: string;
  /** Class name (`Conv2d`). */
  type: string;
  /** 1 for the model's children, 2 for theirs, ... */
  depth: number;
  /** Shape of the (first tensor of the) output; null when the output holds no tensor. */
  outputShape: number[] | null;
  /** Parameter values of this module and its descendants. */
  params: number;
  /** Multiply-adds of this call (a container: the sum over its leaves). */
  multAdds: number;
  /** Receptive field of one output unit in input pixels (the larger of height and width); null without spatial structure. */
  receptiveField: number | null;
  /** Jump (effective stride) in input pixels (the larger of the two axes). */
  jump: number | null;
  /** [height, width] receptive field. */
  receptiveFieldHW: [number, number] | null;
  /** [height, width] jump. */
  jumpHW: [number, number] | null;
  /** True for a module without submodules. */
  leaf: boolean;
}

export interface SummaryResult {
  inputShape: number[];
  outputShape: number[] | null;
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** Sum of the leaf rows' multiply-adds, for the whole input batch. */
  totalMultAdds: number;
  /** Bytes of the parameters (float32). */
  paramBytes: number;
  /** Bytes of all module outputs of the pass (float32): a rough activation-memory figure. */
  activationBytes: number;
  /** Things the receptive-field tracking could not see (functional conv/pool calls). */
  notes: string[];
  /** The printed table. */
  text: string;
  toString(): string;
}

export interface SummaryOptions {
  /** Print the table (default true). */
  print?: boolean;
  /** Where to print (default console.log). */
  log?: (text: string) => void;
  /** Deepest level shown in the printed table (default: all); the data keeps every row. */
  depth?: number;
  /** Run the pass in training mode (default false: eval). Buffers are restored afterwards. */
  training?: boolean;
}

interface Tracker {
  rf: Map<Tensor, ReceptiveField | null>;
  notes: Set<string>;
}

const SPATIAL_OPS = new Set(['conv2d', 'convolve2d', 'convTranspose2d', 'maxPool2d', 'avgPool2d', 'conv1d', 'convolve1d', 'maxPool1d', 'avgPool1d']);

function spatialDims(shape: readonly number[]): [number, number] | null {
  if (shape.length === 4) return [shape[2], shape[3]];
  if (shape.length === 3) return [1, shape[2]];
  return null;
}

function maxRF(list: Array<ReceptiveField | null>): ReceptiveField | null {
  let out: ReceptiveField | null = null;
  for (const v of list) {
    if (!v) continue;
    if (!out) out = { r: [v.r[0], v.r[1]], j: [v.j[0], v.j[1]] };
    else {
      out.r = [Math.max(out.r[0], v.r[0]), Math.max(out.r[1], v.r[1])];
      out.j = [Math.max(out.j[0], v.j[0]), Math.max(out.j[1], v.j[1])];
    }
  }
  return out;
}

/** (r, j) of a tensor: known (a module output or the input), or traced back through the tape. */
function rfOf(tr: Tracker, t: Tensor): ReceptiveField | null {
  const stack: Tensor[] = [t];
  while (stack.length) {
    const cur = stack[stack.length - 1];
    if (tr.rf.has(cur)) { stack.pop(); continue; }
    const fn = cur.gradFn;
    if (!fn) { tr.rf.set(cur, null); stack.pop(); continue; }
    const pending = fn.inputs.filter((i): i is Tensor => i !== null && !tr.rf.has(i));
    if (pending.length) { stack.push(...pending); continue; }
    stack.pop();
    const withRF = fn.inputs.filter((i): i is Tensor => i !== null && tr.rf.get(i) != null);
    let v = maxRF(withRF.map((i) => tr.rf.get(i)!));
    if (v && SPATIAL_OPS.has(fn.name)) tr.notes.add(`a functional ${fn.name} outside any module is not counted in the receptive fields`);
    if (v && fn.name === 'adaptiveAvgPool2d' && withRF.length === 1) {
      v = adaptiveRF(v, withRF[0].shape, cur.shape);
    } else if (v) {
      // Spatial structure flattened into features: the unit sees the whole map.
      const src = withRF.find((i) => spatialDims(i.shape) !== null);
      if (src && spatialDims(cur.shape) === null) {
        const [H, W] = spatialDims(src.shape)!;
        v = { r: [v.r[0] + (H - 1) * v.j[0], v.r[1] + (W - 1) * v.j[1]], j: [v.j[0] * H, v.j[1] * W] };
      }
    }
    tr.rf.set(cur, v);
  }
  return tr.rf.get(t) ?? null;
}

function windowRF(rf: ReceptiveField, k: number[], s: number[], d: number[], transposed: boolean): ReceptiveField {
  const two = (a: number[], fill: number): [number, number] => (a.length >= 2 ? [a[0], a[1]] : [fill, a[0] ?? fill]);
  const kk = two(k, 1), ss = two(s, 1), dd = two(d, 1);
  const r: [number, number] = [0, 0], j: [number, number] = [0, 0];
  for (let a = 0; a < 2; a++) {
    const eff = dd[a] * (kk[a] - 1) + 1;
    if (!transposed) {
      r[a] = rf.r[a] + (eff - 1) * rf.j[a];
      j[a] = rf.j[a] * ss[a];
    } else {
      // An output unit of a transposed conv depends on ceil(eff / s) neighbouring inputs.
      r[a] = rf.r[a] + (Math.ceil(eff / ss[a]) - 1) * rf.j[a];
      j[a] = rf.j[a] / ss[a];
    }
  }
  return { r, j };
}

function adaptiveRF(rf: ReceptiveField, inShape: readonly number[], outShape: readonly number[]): ReceptiveField {
  const i = spatialDims(inShape), o = spatialDims(outShape);
  if (!i || !o) return rf;
  const r: [number, number] = [0, 0], j: [number, number] = [0, 0];
  for (let a = 0; a < 2; a++) {
    const n = i[a], m = o[a];
    let k = 1;
    for (let b = 0; b < m; b++) k = Math.max(k, Math.ceil(((b + 1) * n) / m) - Math.floor((b * n) / m));
    r[a] = rf.r[a] + (k - 1) * rf.j[a];
    j[a] = rf.j[a] * (n / m);
  }
  return { r, j };
}

type Geometry = { kernelSize?: unknown; stride?: unknown; dilation?: unknown; outputPadding?: unknown; outputSize?: unknown };

/** (r, j) after a module, from its geometry; undefined when it has none (trace the tape instead). */
function moduleRF(m: Module, rfIn: ReceptiveField | null, inShape: number[] | null, outShape: number[] | null): ReceptiveField | null | undefined {
  const custom = (m as unknown as { receptiveField?: unknown }).receptiveField;
  if (typeof custom === 'function') {
    if (!rfIn) return null;
    return (custom as (rf: ReceptiveField, i: number[] | null, o: number[] | null) => ReceptiveField).call(m, rfIn, inShape, outShape);
  }
  if (m.namedChildren().length > 0) return undefined;
  const g = m as unknown as Geometry;
  if (Array.isArray(g.kernelSize)) {
    if (!rfIn) return null;
    const k = g.kernelSize as number[];
    const s = Array.isArray(g.stride) ? (g.stride as number[]) : k.map(() => (typeof g.stride === 'number' ? g.stride : 1));
    const d = Array.isArray(g.dilation) ? (g.dilation as number[]) : k.map(() => 1);
    return windowRF(rfIn, k, s, d, g.outputPadding !== undefined);
  }
  if (g.outputSize !== undefined && /^Adaptive/.test(m.typeName)) {
    if (!rfIn || !inShape || !outShape) return rfIn;
    return adaptiveRF(rfIn, inShape, outShape);
  }
  return undefined;
}

function firstTensor(v: unknown): Tensor | null {
  if (v instanceof Tensor) return v;
  if (Array.isArray(v)) { for (const e of v) { const t = firstTensor(e); if (t) return t; } return null; }
  if (v && typeof v === 'object') { for (const e of Object.values(v)) { const t = firstTensor(e); if (t) return t; } }
  return null;
}

function allTensors(v: unknown, out: Tensor[] = []): Tensor[] {
  if (v instanceof Tensor) out.push(v);
  else if (Array.isArray(v)) for (const e of v) allTensors(e, out);
  else if (v && typeof v === 'object') for (const e of Object.values(v)) allTensors(e, out);
  return out;
}

function leafMultAdds(m: Module, input: Tensor | null, output: Tensor | null): number {
  const custom = (m as unknown as { multAdds?: unknown }).multAdds;
  if (typeof custom === 'function') {
    return (custom as (i: number[] | null, o: number[] | null) => number).call(m, input ? input.shape.slice() : null, output ? output.shape.slice() : null);
  }
  const w = (m as unknown as { weight?: unknown }).weight;
  if (!(w instanceof Parameter) || !output || w.shape.length === 0) return 0;
  const g = m as unknown as Geometry;
  if (g.outputPadding !== undefined && input) {
    // transposed conv: weight [Cin, Cout/groups, k...]; every input element is used Cout/groups x k... times
    return input.size * (w.size / w.shape[0]);
  }
  if (output.ndim < 2) return 0;
  const outChannels = output.ndim === 2 ? output.shape[1] : output.shape[1];
  if (!outChannels) return 0;
  return output.size * (w.size / outChannels);
}

function fmtCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtBig(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} k`;
  return String(Math.round(n));
}

function fmtNum(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

function fmtPair(p: [number, number] | null): string {
  if (!p) return '-';
  return p[0] === p[1] ? fmtNum(p[0]) : `${fmtNum(p[0])}x${fmtNum(p[1])}`;
}

function table(header: string[], rows: string[][], alignLeft: number): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < alignLeft ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd();
  const rule = '-'.repeat(w.reduce((a, b) => a + b, 0) + 2 * (w.length - 1));
  return [line(header), rule, ...rows.map(line), rule].join('\n');
}

/** See Module.summary. */
export function summarize(model: Module, inputShape: number[], options: SummaryOptions = {}): SummaryResult {
  if (!Array.isArray(inputShape) || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new TypeError(`${model.typeName}.summary: inputShape must be an array of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  if (options === null || typeof options !== 'object') throw new TypeError(`${model.typeName}.summary: options must be an object`);
  // [C, H, W] means one image.
  const shape = inputShape.length === 3 ? [1, ...inputShape] : inputShape.slice();
  const size = shape.reduce((a, b) => a * b, 1);
  const x = new Tensor(new Float32Array(size), shape, { requiresGrad: true });

  const tr: Tracker = { rf: new Map(), notes: new Set() };
  const sp = spatialDims(shape);
  tr.rf.set(x, sp ? { r: [1, 1], j: [1, 1] } : null);

  const names = new Map<Module, string>();
  for (const [n, m] of model.namedModules()) names.set(m, n);
  interface Frame { row: SummaryRow | null; }
  const stack: Frame[] = [];
  const rows: SummaryRow[] = [];
  let activationBytes = 0;
  const handles: RemovableHandle[] = [];
  for (const [name, m] of model.namedModules()) {
    if (m === model) continue;
    const depth = name.split('.').length;
    const leaf = m.namedChildren().length === 0;
    handles.push(m.registerForwardPreHook(() => {
      const row: SummaryRow = {
        name, type: m.typeName, depth, outputShape: null, params: m.numParameters(), multAdds: 0,
        receptiveField: null, jump: null, receptiveFieldHW: null, jumpHW: null, leaf,
      };
      rows.push(row);
      stack.push({ row });
    }));
    handles.push(m.registerForwardHook((mod, args, output) => {
      const frame = stack.pop();
      const row = frame?.row;
      if (!row) return;
      const input = firstTensor(args);
      const out = firstTensor(output);
      row.outputShape = out ? out.shape.slice() : null;
      if (leaf) for (const t of allTensors(output)) activationBytes += 4 * t.size;
      if (leaf) {
        const macs = leafMultAdds(mod, input, out);
        row.multAdds = macs;
        for (const f of stack) if (f.row) f.row.multAdds += macs;
      }
      const rfIn = input ? rfOf(tr, input) : null;
      let rf = moduleRF(mod, rfIn, input ? input.shape.slice() : null, out ? out.shape.slice() : null);
      if (rf !== undefined) {
        for (const t of allTensors(output)) tr.rf.set(t, rf);
      } else {
        rf = out ? rfOf(tr, out) : null;
      }
      if (rf && out && (spatialDims(out.shape) || out.ndim === 2)) {
        row.receptiveFieldHW = [rf.r[0], rf.r[1]];
        row.jumpHW = [rf.j[0], rf.j[1]];
        row.receptiveField = Math.max(rf.r[0], rf.r[1]);
        row.jump = Math.max(rf.j[0], rf.j[1]);
        if (out.ndim === 3) { row.receptiveField = rf.r[1]; row.jump = rf.j[1]; }
      }
    }));
  }

  // Snapshot modes (every module's own flag) and, for a training pass, the buffers.
  const modes = model.modules().map((m) => [m, m.training] as const);
  const training = options.training ?? false;
  const saved = training ? model.buffers().map((b) => [b, b.data.slice()] as const) : [];
  const prevGrad = setGradEnabled(true);
  let output: unknown;
  try {
    model.train(training);
    output = (model.call as (...a: unknown[]) => unknown)(x);
  } finally {
    setGradEnabled(prevGrad);
    for (const h of handles) h.remove();
    for (const [m, t] of modes) m.training = t;
    for (const [b, d] of saved) b.data.set(d);
    markDataChanged();
  }
  const outT = firstTensor(output);

  const params = model.parameters();
  const totalParams = params.reduce((a, p) => a + p.size, 0);
  const trainableParams = params.reduce((a, p) => a + (p.requiresGrad ? p.size : 0), 0);
  const totalMultAdds = rows.filter((r) => r.leaf).reduce((a, r) => a + r.multAdds, 0);
  const notes = [...tr.notes];

  const maxDepth = options.depth ?? Infinity;
  const shown = rows.filter((r) => r.depth <= maxDepth);
  const header = ['Layer (type)', 'Output shape', 'Params', 'Mult-adds', 'RF', 'Jump'];
  const body = shown.map((r) => [
    `${'  '.repeat(r.depth - 1)}${r.name.split('.').pop()} (${r.type})`,
    r.outputShape ? `[${r.outputShape.join(', ')}]` : '-',
    r.params ? fmtCount(r.params) : '-',
    r.multAdds ? fmtBig(r.multAdds) : '-',
    fmtPair(r.receptiveFieldHW),
    fmtPair(r.jumpHW),
  ]);
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(2)} MB`;
  const lines = [
    `${model.typeName} summary, input [${shape.join(', ')}] (${training ? 'training' : 'eval'} mode)`,
    table(header, body, 1),
    `Total params: ${fmtCount(totalParams)}`,
    `Trainable params: ${fmtCount(trainableParams)}`,
    `Non-trainable params: ${fmtCount(totalParams - trainableParams)}`,
    `Total mult-adds: ${fmtBig(totalMultAdds)}`,
    `Input size: ${mb(4 * size)}, outputs of all layers: ${mb(activationBytes)}, params: ${mb(4 * totalParams)}`,
    'RF: receptive field of one output unit in input pixels; Jump: input pixels between neighbouring units.',
    ...notes.map((n) => `Note: ${n}`),
  ];
  const text = lines.join('\n');
  if (options.print ?? true) (options.log ?? ((s: string) => console.log(s)))(text);
  return {
    inputShape: shape, outputShape: outT ? outT.shape.slice() : null, rows, totalParams, trainableParams,
    nonTrainableParams: totalParams - trainableParams, totalMultAdds, paramBytes: 4 * totalParams, activationBytes,
    notes, text, toString: () => text,
  };
}

/** See Module.predict. */
export function predictWith(model: Module, args: unknown[]): unknown {
  const mods = model.modules();
  const modes = mods.map((m) => m.training);
  try {
    for (const m of mods) m.training = false; // model.eval(), without walking the tree again
    return noGrad(() => (model.call as (...a: unknown[]) => unknown)(...args));
  } finally {
    mods.forEach((m, i) => { m.training = modes[i]; });
  }
}
