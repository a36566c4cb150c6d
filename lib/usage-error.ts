// An error in how a command was called: the CLI prints its message alone and exits 2.
export class UsageError extends Error {
  override name = 'UsageError';
}
