// Reading and writing tensors: safetensors (the public format) and atomic file writes.
export {
  loadSafetensors, loadSafetensorsAsync, parseSafetensors, readSafetensorsHeader,
  saveSafetensors, serializeSafetensors, encodeSafetensors,
  SafetensorsDict, SafetensorsError, SAFETENSORS_DTYPES, MAX_HEADER_SIZE,
} from './safetensors';
export type {
  SafetensorsDtype, SafetensorsEntry, ParseOptions, SafetensorsValue, SafetensorsInput, SafetensorsMetadata,
} from './safetensors';
export { writeFileAtomic, tempPathFor } from './atomic';
export type { AtomicContent } from './atomic';
