// PLACEHOLDER: the TypeScript kernels are being written.
import type { Backend } from '../backend';

export function createJsBackend(): Backend {
  throw new Error('js backend not written yet');
}
