#!/usr/bin/env node
// The `receptive` command.
import { backend, getConvAlgorithm, getNumThreads, nativeLoadError, setBackend, setNumThreads, tryNative } from './backend/select';
import { UsageError } from './usage-error';
import { version } from './version';

const USAGE = `usage: receptive <command> [options]

commands:
  info                      version, backend, CPU features, kernel ISA, threads
  train <model> [options]   train a model (see 'receptive train --help')
  help                      this text`;

function info(args: string[]): void {
  applyCommonFlags(args);
  const b = backend();
  const i = b.info();
  const native = tryNative();
  const lines = [
    `receptive ${version}`,
    `backend:       ${b.name}${b.name === 'js' && !native ? ` (native unavailable: ${nativeLoadError()?.message.split('\n')[0]})` : ''}`,
    `kernel ISA:    ${i.isa}`,
    `CPU features:  ${(native ? native.info().cpuFeatures : i.cpuFeatures).join(' ') || (native ? '(none reported)' : '(not detected: native addon not loaded)')}`,
    `OpenMP:        ${native ? (native.info().openmp ? 'yes' : 'no') : 'n/a'}`,
    `threads:       ${getNumThreads()}`,
    `conv algorithm: ${b.name === 'native' ? getConvAlgorithm() : 'js'}`,
    `node:          ${process.version} (${process.platform}-${process.arch})`,
  ];
  console.log(lines.join('\n'));
}

/** --backend js|native and --threads N, accepted by every command. */
export function applyCommonFlags(args: string[]): void {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--backend') {
      const v = args[++i];
      if (v !== 'js' && v !== 'native') throw new UsageError(`--backend must be js or native, got ${v ?? '(nothing)'}`);
      setBackend(v);
    } else if (args[i] === '--threads') {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < 1) throw new UsageError(`--threads must be a positive integer, got ${args[i] ?? '(nothing)'}`);
      setNumThreads(v);
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'info':
      info(rest);
      return 0;
    case 'train': {
      const { trainCommand } = await import('./train/command');
      return trainCommand(rest);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return cmd === undefined ? 1 : 0;
    default:
      throw new UsageError(`unknown command '${cmd}'\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`receptive: ${msg}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
