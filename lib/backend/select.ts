// Chooses the backend: the native addon when it loads, else the TypeScript kernels.
// RECEPTIVE_BACKEND=js|native or setBackend() force a choice; forcing native when the
// addon cannot load is an error, never a silent fallback.
import type { Backend } from './backend';
import { createJsBackend } from './js';
import { loadNativeBackend } from './native';
import type { NativeBackend } from './native';
import { markDataChanged } from '../tensor';

export type BackendName = 'native' | 'js';

let active: Backend | null = null;
let jsInstance: Backend | null = null;
let nativeInstance: Backend | null = null;
let nativeError: Error | null = null;
let nativeTried = false;
let requestedThreads: number | null = null;
let warned = false;

function js(): Backend {
  if (!jsInstance) jsInstance = createJsBackend();
  return jsInstance;
}

/** The native backend, or null (with the reason in nativeLoadError()) when it cannot load. */
export function tryNative(): Backend | null {
  if (!nativeTried) {
    nativeTried = true;
    try {
      nativeInstance = loadNativeBackend();
    } catch (e) {
      nativeError = e instanceof Error ? e : new Error(String(e));
    }
  }
  return nativeInstance;
}

export function nativeLoadError(): Error | null {
  tryNative();
  return nativeError;
}

function activate(b: Backend): Backend {
  active = b;
  if (requestedThreads !== null) b.setNumThreads(requestedThreads);
  return b;
}

function parseName(name: unknown, source: string): BackendName {
  if (name === 'js' || name === 'native') return name;
  throw new TypeError(`${source} must be 'js' or 'native', got ${JSON.stringify(name)}`);
}

function choose(name: BackendName): Backend {
  if (name === 'js') return js();
  const n = tryNative();
  if (!n) throw new Error(`the native backend cannot be loaded: ${nativeError?.message ?? 'unknown reason'}`);
  return n;
}

/** The active backend, chosen on first use. */
export function backend(): Backend {
  if (active) return active;
  const env = process.env.RECEPTIVE_BACKEND;
  if (env !== undefined && env !== '') return activate(choose(parseName(env, 'RECEPTIVE_BACKEND')));
  const n = tryNative();
  if (n) return activate(n);
  if (!warned) {
    warned = true;
    process.stderr.write(`receptive: native addon not available (${firstLine(nativeError?.message)}); using the JavaScript backend\n`);
  }
  return activate(js());
}

/** Forces a backend for all later calls; throws if 'native' cannot load. */
export function setBackend(name: BackendName): void {
  activate(choose(parseName(name, 'backend name')));
}

/** Name of the active backend. */
export function getBackend(): BackendName {
  return backend().name;
}

/** A specific backend instance (for tests and benchmarks comparing the two). */
export function getBackendInstance(name: BackendName): Backend {
  return choose(parseName(name, 'backend name'));
}

/** Threads used by native kernels (the JS backend runs on one thread). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: n must be a positive integer, got ${n}`);
  requestedThreads = n;
  backend().setNumThreads(n);
  if (nativeInstance && nativeInstance !== active) nativeInstance.setNumThreads(n);
}

export function getNumThreads(): number {
  return backend().getNumThreads();
}

export type ConvAlgorithmPolicy = 'auto' | 'gemm' | 'winograd' | 'direct';
const CONV_POLICIES: readonly string[] = ['auto', 'gemm', 'winograd', 'direct'];

/**
 * Which forward convolution algorithms the native kernels may use: 'auto' (chosen by
 * shape, the default), or 'gemm', 'winograd' (3x3 stride 1) or 'direct' (few input
 * channels) forced wherever they apply. RECEPTIVE_CONV_ALGO sets the initial value.
 * Layers' prepared weights are remade for the new choice. The JS backend has one algorithm.
 */
export function setConvAlgorithm(name: ConvAlgorithmPolicy): void {
  if (typeof name !== 'string') throw new TypeError(`setConvAlgorithm: name must be a string, got ${typeof name}`);
  if (!CONV_POLICIES.includes(name)) {
    throw new RangeError(`setConvAlgorithm: name must be one of ${CONV_POLICIES.join(', ')}, got '${name}'`);
  }
  const n = tryNative() as NativeBackend | null;
  if (n) n.setConvAlgorithm(name);
  markDataChanged();
}

/** The native kernels' convolution algorithm policy ('js' when the addon is not loaded). */
export function getConvAlgorithm(): string {
  const n = tryNative() as NativeBackend | null;
  return n ? n.getConvAlgorithm() : 'js';
}

function firstLine(s: string | undefined): string {
  return (s ?? 'unknown reason').split('\n')[0];
}
