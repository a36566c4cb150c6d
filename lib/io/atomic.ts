// Atomic file replacement: write a temporary file next to the target, fsync it, rename it
// over the target. rename() within one folder is atomic on POSIX file systems, so readers
// see either the old file or the complete new one; a crash or an exception mid-write
// leaves the previous file untouched, and the temporary file is removed on error.
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

/** Bytes or text to write; an array of chunks is written in order without concatenating. */
export type AtomicContent = string | Uint8Array | ReadonlyArray<Uint8Array>;

/** The temporary name used while writing `target` (same folder, so rename stays atomic). */
export function tempPathFor(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

function writeAll(fd: number, chunk: Uint8Array): void {
  let off = 0;
  while (off < chunk.byteLength) {
    off += fs.writeSync(fd, chunk, off, chunk.byteLength - off);
  }
}

/**
 * Writes `content` to `target` atomically. `produce`-style callers can pass a function that
 * receives a `write(chunk)` callback; it runs while the temporary file is open, and anything
 * it throws aborts the write and removes the temporary file.
 */
export function writeFileAtomic(target: string, content: AtomicContent | ((write: (chunk: Uint8Array) => void) => void),
                                options: { mode?: number } = {}): void {
  if (typeof target !== 'string' || target.length === 0) throw new TypeError('writeFileAtomic: path must be a non-empty string');
  const tmp = tempPathFor(target);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx', options.mode ?? 0o666);
    const f = fd;
    const write = (chunk: Uint8Array) => writeAll(f, chunk);
    if (typeof content === 'function') content(write);
    else if (typeof content === 'string') write(Buffer.from(content, 'utf8'));
    else if (content instanceof Uint8Array) write(content);
    else for (const c of content) write(c);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd !== null) { try { fs.closeSync(fd); } catch { /* already failing */ } }
    try { fs.unlinkSync(tmp); } catch { /* never created or already gone */ }
    throw err;
  }
  // Persist the rename itself; not every platform lets a folder be opened, so best effort.
  try {
    const dfd = fs.openSync(path.dirname(path.resolve(target)), 'r');
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
  } catch { /* e.g. Windows */ }
}
