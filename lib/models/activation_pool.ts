// Activation buffers reused across the layers of an inference pass and across passes.
// The zoo's fused inference path (eval mode, no tape, no hooks anywhere in the model) gives
// back each intermediate as soon as nothing reads it any more, so a batch-32 ResNet-50
// holds a handful of activations instead of one fresh array per layer waiting for the
// garbage collector, and steady-state passes allocate no activation memory.

import type { Tensor } from '../tensor';
import { backend } from '../backend/select';

/** A buffer serves a request of n floats only up to this many times n (bounded waste). */
const MAX_OVERSIZE = 2;


export class ActivationPool {
  private free: Float32Array[] = [];
  /** The whole array behind each view handed out, so give() can return it. */
  private owners = new WeakMap<ArrayBuffer, Float32Array>();

  /** A buffer of n floats (old contents: the caller overwrites every element). */
  take(n: number): Float32Array {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i].length;
      if (len >= n && len <= MAX_OVERSIZE * n && (best < 0 || len < this.free[best].length)) best = i;
    }
    const whole = best >= 0 ? this.free.splice(best, 1)[0] : backend().allocate(n);
    this.owners.set(whole.buffer as ArrayBuffer, whole);
    return whole.length === n ? whole : whole.subarray(0, n);
  }

  /**
   * Returns a buffer from take() that nothing reads any more. Anything else (a layer's own
   * fresh array) is left to the garbage collector: such a layer makes a new one every pass,
   * and keeping them grew the pool pass after pass.
   */
  give(a: Float32Array): void {
    const whole = this.owners.get(a.buffer as ArrayBuffer);
    if (whole && !this.free.includes(whole)) this.free.push(whole);
  }

  /**
   * Gives back `used` once `next` was computed from it, unless next shares its buffer (a
   * layer that returned its input) or it is the caller's `input`.
   */
  retire(used: Tensor, next: Tensor, input: Tensor): void {
    if (used !== input && used.data !== next.data && used.data !== input.data) this.give(used.data);
  }

  /** Drops every pooled buffer (their memory goes with the next garbage collection). */
  clear(): void {
    this.free = [];
  }

  /** Bytes held in free buffers. */
  get freeBytes(): number {
    return this.free.reduce((s, a) => s + a.byteLength, 0);
  }
}
