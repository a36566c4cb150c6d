// The native backend: the N-API addon built from native/ (node-gyp or cmake-js), loaded
// with node-gyp-build from the package root (prebuilds/ first, then build/Release).
// RECEPTIVE_ADDON_PATH=/path/to/receptive.node loads that file instead (the cmake-js and
// sanitizer builds are tested that way).
//
// The addon validates every argument itself (TypeError for wrong types, RangeError for
// bad sizes/lengths, messages naming the argument), so the methods pass straight through.
import * as path from 'path';
import type {
  AdaptivePoolGeometry, AvgPoolGeometry, Backend, BackendInfo, ConvGeometry, PoolGeometry,
  PreparedConv2d,
} from './backend';
import { convGeometry, convOutputParts, describe, intArg } from './validate';
import { geometryPackers } from './geometry_pack';
import { markDataChanged } from '../tensor';
import { isRecording, recordNativeCall, recordUnsupported } from './call_recorder';

/** The addon's handle (a type-tagged External) behind a PreparedConv2d. */
type PreparedHandle = object;

/** What the compiled addon exports (native/addon.cc). */
interface Addon {
  info(): { isa: string; cpuFeatures: string[]; openmp: boolean };
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setIsa(name: string): void;
  convAlgorithm(g: ConvGeometry): string;
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
       A: Float32Array, B: Float32Array, beta: number, C: Float32Array): void;
  gemmAsync(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
            A: Float32Array, B: Float32Array, beta: number, C: Float32Array): Promise<void>;
  conv2dForward(g: ConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null,
                y: Float32Array): void;
  conv2dForwardAsync(g: ConvGeometry, x: Float32Array, w: Float32Array,
                     bias: Float32Array | null, y: Float32Array): Promise<void>;
  prepareConv2d(g: ConvGeometry, w: Float32Array, scale: Float32Array | null,
                bias: Float32Array | null): PreparedHandle;
  preparedConv2dInfo(h: PreparedHandle): { algorithm: string; kernel: string; bytes: number };
  conv2dForwardPrepared(g: ConvGeometry, x: Float32Array, h: PreparedHandle,
                        residual: Float32Array | null, relu: boolean, y: Float32Array,
                        yImageStride?: number): void;
  conv2dForwardPreparedSplit(g: ConvGeometry, x: Float32Array, h: PreparedHandle, relu: boolean,
                             ...outputs: Array<Float32Array | number>): void;
  alignedFloat32Array(n: number): Float32Array;
  reluForward(x: Float32Array, y: Float32Array): void;
  reluBackward(y: Float32Array, gy: Float32Array, gx: Float32Array): void;
  setConvAlgorithm(name: string): void;
  getConvAlgorithm(): string;
  conv2dBackwardInput(g: ConvGeometry, gy: Float32Array, w: Float32Array, gx: Float32Array): void;
  conv2dBackwardWeight(g: ConvGeometry, x: Float32Array, gy: Float32Array, gw: Float32Array): void;
  conv2dBackwardBias(g: ConvGeometry, gy: Float32Array, gb: Float32Array): void;
  maxPool2dForward(g: PoolGeometry, x: Float32Array, y: Float32Array,
                   indices: Int32Array | null): void;
  maxPool2dBackward(g: PoolGeometry, gy: Float32Array, indices: Int32Array, gx: Float32Array): void;
  avgPool2dForward(g: AvgPoolGeometry, x: Float32Array, y: Float32Array): void;
  avgPool2dBackward(g: AvgPoolGeometry, gy: Float32Array, gx: Float32Array): void;
  adaptiveAvgPool2dForward(g: AdaptivePoolGeometry, x: Float32Array, y: Float32Array): void;
  adaptiveAvgPool2dBackward(g: AdaptivePoolGeometry, gy: Float32Array, gx: Float32Array): void;
  /** Field order of each packed geometry layout (absent in older builds). */
  geometryFields?: unknown;
}

const REQUIRED: (keyof Addon)[] = [
  'info', 'setNumThreads', 'getNumThreads', 'setIsa', 'convAlgorithm', 'gemm', 'gemmAsync',
  'conv2dForward', 'conv2dForwardAsync', 'prepareConv2d', 'preparedConv2dInfo',
  'conv2dForwardPrepared', 'conv2dForwardPreparedSplit', 'alignedFloat32Array', 'reluForward', 'reluBackward', 'setConvAlgorithm', 'getConvAlgorithm', 'conv2dBackwardInput', 'conv2dBackwardWeight',
  'conv2dBackwardBias', 'maxPool2dForward', 'maxPool2dBackward', 'avgPool2dForward',
  'avgPool2dBackward', 'adaptiveAvgPool2dForward', 'adaptiveAvgPool2dBackward',
];

/** The Backend contract plus what only the native side can do. */
export interface NativeBackend extends Backend {
  readonly name: 'native';
  /** Forces the kernels' instruction set ('scalar' | 'avx2' | 'avx512'); RangeError if the
   *  CPU or the build cannot run it. */
  setIsa(name: string): void;
  /** Restricts the forward algorithm choice: 'auto' (by shape, the default), or forces
   *  'gemm', 'winograd' or 'direct' wherever it applies (tests run every path this way).
   *  The RECEPTIVE_CONV_ALGO environment variable sets the initial value. Weights already
   *  prepared keep the algorithm they were prepared for. */
  setConvAlgorithm(name: 'auto' | 'gemm' | 'winograd' | 'direct'): void;
  getConvAlgorithm(): string;
  /** conv2dForward on a worker thread; the arrays must stay untouched until it settles.
   *  Bad arguments reject the promise with the sync form's TypeError/RangeError. */
  conv2dForwardAsync(g: ConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null,
                     y: Float32Array): Promise<void>;
  /** gemm on a worker thread; same rules as conv2dForwardAsync. */
  gemmAsync(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
            A: Float32Array, B: Float32Array, beta: number, C: Float32Array): Promise<void>;
}

class NativePreparedConv2d implements PreparedConv2d {
  readonly backend = 'native' as const;
  constructor(readonly handle: PreparedHandle, readonly algorithm: string, readonly kernel: string,
              readonly bytes: number) {}
}

function packageRoot(): string {
  return path.join(__dirname, '..', '..');
}

function loadAddon(): Addon {
  const override = process.env.RECEPTIVE_ADDON_PATH;
  let addon: unknown;
  if (override !== undefined && override !== '') {
    const file = path.resolve(override);
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      addon = require(file);
    } catch (e) {
      throw new Error(`cannot load the native addon from RECEPTIVE_ADDON_PATH=${file}: ${reason(e)}`);
    }
  } else {
    let nodeGypBuild: (dir: string) => unknown;
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      nodeGypBuild = require('node-gyp-build');
    } catch (e) {
      throw new Error(`cannot load node-gyp-build: ${reason(e)}`);
    }
    try {
      addon = nodeGypBuild(packageRoot());
    } catch (e) {
      throw new Error(`no usable native build in ${packageRoot()} (run \`npm run build:native\`): ${reason(e)}`);
    }
  }
  const missing = REQUIRED.filter((k) => typeof (addon as Record<string, unknown>)[k] !== 'function');
  if (missing.length > 0) {
    throw new Error(`the native addon is out of date (missing ${missing.join(', ')}); rebuild it`);
  }
  return addon as Addon;
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * libgomp's idle threads spin for a long while at every barrier; on a machine whose cores
 * are shared with other work a spinning thread burns the slice its partner needs, which
 * made short parallel regions (LeNet-5, GoogLeNet) 3-30x slower. A short spin keeps the
 * wake-up fast and lets idle threads sleep. Read once, when the OpenMP runtime loads, so
 * it is set before the addon; a user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
 */
function setOpenMpWaitDefaults(): void {
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) {
    process.env.GOMP_SPINCOUNT = '10000';
  }
}

// The addon's kernels, as a pass may record them for replay (call_recorder.ts); the async
// forms cannot be replayed in order, so a recording that meets one is marked unsupported.
const RECORDED_KERNELS: (keyof Addon)[] = [
  'gemm', 'conv2dForward', 'conv2dForwardPrepared', 'conv2dForwardPreparedSplit', 'reluForward',
  'reluBackward', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'conv2dBackwardBias',
  'maxPool2dForward', 'maxPool2dBackward', 'avgPool2dForward', 'avgPool2dBackward',
  'adaptiveAvgPool2dForward', 'adaptiveAvgPool2dBackward',
];
const ASYNC_KERNELS: (keyof Addon)[] = ['gemmAsync', 'conv2dForwardAsync'];

/** The addon with its kernels reporting to an open recording (one branch per call otherwise). */
function recordingAddon(raw: Addon): Addon {
  const a = Object.create(raw) as Addon;
  const table = a as unknown as Record<string, unknown>;
  // (Looked up on each call, so that a function replaced on the addon module itself, as
  // the tests' call counters do, is the one that runs.)
  const rawTable = raw as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of RECORDED_KERNELS) {
    table[name] = (...args: unknown[]) => {
      const f = rawTable[name];
      if (isRecording()) recordNativeCall(f, args);
      return f(...args);
    };
  }
  for (const name of ASYNC_KERNELS) {
    table[name] = (...args: unknown[]) => {
      recordUnsupported(`${name} (asynchronous) cannot be replayed`);
      return rawTable[name](...args);
    };
  }
  return a;
}

export function loadNativeBackend(): NativeBackend {
  setOpenMpWaitDefaults();
  const a = recordingAddon(loadAddon());
  const packers = geometryPackers(a.geometryFields);
  const cg = (g: ConvGeometry) => packers.conv(g) as ConvGeometry;
  const pg = (g: PoolGeometry) => packers.pool(g) as PoolGeometry;
  const ag = (g: AdaptivePoolGeometry) => packers.adaptivePool(g) as AdaptivePoolGeometry;
  return {
    name: 'native',
    info(): BackendInfo {
      const i = a.info();
      return { name: 'native', isa: i.isa, cpuFeatures: i.cpuFeatures, openmp: i.openmp };
    },
    setNumThreads: (n) => a.setNumThreads(n),
    getNumThreads: () => a.getNumThreads(),
    setIsa(name) {
      a.setIsa(name);
      markDataChanged(); // the algorithm chosen for a geometry may differ on another ISA
    },
    convAlgorithm: (g) => a.convAlgorithm(cg(g)),
    gemm: (ta, tb, M, N, K, alpha, A, B, beta, C) => a.gemm(ta, tb, M, N, K, alpha, A, B, beta, C),
    gemmAsync: (ta, tb, M, N, K, alpha, A, B, beta, C) =>
      a.gemmAsync(ta, tb, M, N, K, alpha, A, B, beta, C),
    conv2dForward: (g, x, w, bias, y) => a.conv2dForward(cg(g), x, w, bias, y),
    conv2dForwardAsync: (g, x, w, bias, y) => a.conv2dForwardAsync(cg(g), x, w, bias, y),
    setConvAlgorithm: (name) => a.setConvAlgorithm(name),
    getConvAlgorithm: () => a.getConvAlgorithm(),
    prepareConv2d(g, w, scale, bias): PreparedConv2d {
      const handle = a.prepareConv2d(cg(g), w, scale, bias);
      const info = a.preparedConv2dInfo(handle);
      return new NativePreparedConv2d(handle, info.algorithm, info.kernel, info.bytes);
    },
    conv2dForwardPrepared(g, x, prepared, residual, relu, y, yImageStride) {
      if (!(prepared instanceof NativePreparedConv2d)) {
        throw new TypeError(`conv2dForwardPrepared: prepared must come from the native backend's prepareConv2d, got ${describe(prepared)}`);
      }
      a.conv2dForwardPrepared(cg(g), x, prepared.handle, residual, relu, y, yImageStride);
    },
    conv2dForwardPreparedSplit(g, x, prepared, relu, outputs) {
      const fn = 'conv2dForwardPreparedSplit';
      if (!(prepared instanceof NativePreparedConv2d)) {
        throw new TypeError(`${fn}: prepared must come from the native backend's prepareConv2d, got ${describe(prepared)}`);
      }
      // (The addon checks every part again; this gives the same messages as the JS backend.)
      const c = convGeometry(fn, g);
      const parts = convOutputParts(fn, outputs, c.N, c.K, c.OH * c.OW, x);
      const flat: Array<Float32Array | number> = [];
      for (const p of parts) flat.push(p.data, p.channels, p.imageStride);
      a.conv2dForwardPreparedSplit(cg(g), x, prepared.handle, relu, ...flat);
    },
    allocate: (n) => a.alignedFloat32Array(intArg('allocate', 'n', n)),
    reluForward: (x, y) => a.reluForward(x, y),
    reluBackward: (y, gy, gx) => a.reluBackward(y, gy, gx),
    conv2dBackwardInput: (g, gy, w, gx) => a.conv2dBackwardInput(cg(g), gy, w, gx),
    conv2dBackwardWeight: (g, x, gy, gw) => a.conv2dBackwardWeight(cg(g), x, gy, gw),
    conv2dBackwardBias: (g, gy, gb) => a.conv2dBackwardBias(cg(g), gy, gb),
    maxPool2dForward: (g, x, y, indices) => a.maxPool2dForward(pg(g), x, y, indices),
    maxPool2dBackward: (g, gy, indices, gx) => a.maxPool2dBackward(pg(g), gy, indices, gx),
    avgPool2dForward: (g, x, y) => a.avgPool2dForward(g, x, y),
    avgPool2dBackward: (g, gy, gx) => a.avgPool2dBackward(g, gy, gx),
    adaptiveAvgPool2dForward: (g, x, y) => a.adaptiveAvgPool2dForward(ag(g), x, y),
    adaptiveAvgPool2dBackward: (g, gy, gx) => a.adaptiveAvgPool2dBackward(ag(g), gy, gx),
  };
}
