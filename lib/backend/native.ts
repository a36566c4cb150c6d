// PLACEHOLDER: the N-API backend is being written.
import type { Backend } from './backend';

export function loadNativeBackend(): Backend {
  throw new Error('native backend not built yet');
}
