#!/usr/bin/env node
'use strict';
// receptive's benchmarks (`npm run bench`, benchmark.js). For every case: receptive-native
// (at --threads, and at 1 thread for the scaling figure), receptive-JS (where quick
// enough), and the installed peers (bash bench/setup-peers.sh), with the ratios measured
// in this one run. Prints a table per suite, writes bench/results/<suite>-<timestamp>.json,
// and for full (non --quick) runs bench/latest-<suite>.json and bench/ratio-chart.svg.
//
//   node bench/run.js [--suite gemm|conv|conv-backward|pool|all|a,b] [--quick] [--threads N]
//                     [--no-peers | --peers pytorch,onednn,...] [--no-scaling] [--stat median|min]
//                     [--js-all | --js-max-gflop X] [--max-time S] [--rounds R] [--cases id,id] [--no-save] [--list]
//                     [--addon path/to/receptive.node]   (sets RECEPTIVE_ADDON_PATH)
//
// Suites are the files of bench/suites/ (one file per suite; see bench/README.md).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { tableData, textTable, ratio, fmt } = require('./lib/table');
const { geomean } = require('./lib/compare');
const { ensureBuilt } = require('./peers/build');

const BENCH = __dirname;
const ROOT = path.join(BENCH, '..');
const ORDER = ['gemm', 'conv', 'conv-backward', 'pool'];

function usage(msg) {
  if (msg) process.stderr.write(`bench: ${msg}\n`);
  const lines = fs.readFileSync(__filename, 'utf8').split('\n');
  const end = lines.findIndex((l) => l.startsWith('const '));
  process.stderr.write(lines.slice(2, end).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(msg ? 2 : 0);
}

function parseArgs(argv) {
  const a = {
    suite: 'all', quick: false, threads: 2, noPeers: false, peers: null, scaling: true, stat: 'median',
    jsAll: false, jsMaxGflop: null, maxTime: null, rounds: 1, save: true, list: false, cases: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => { if (i + 1 >= argv.length) usage(`${k} needs a value`); return argv[++i]; };
    if (k === '--suite' || k === '-s') a.suite = val();
    else if (k.startsWith('--suite=')) a.suite = k.slice(8);
    else if (k === '--quick' || k === '-q') a.quick = true;
    else if (k === '--threads' || k === '-t') a.threads = Number(val());
    else if (k.startsWith('--threads=')) a.threads = Number(k.slice(10));
    else if (k === '--no-peers') a.noPeers = true;
    else if (k === '--peers') a.peers = val().split(',');
    else if (k === '--no-scaling') a.scaling = false;
    else if (k === '--stat') a.stat = val();
    else if (k === '--js-all') a.jsAll = true;
    else if (k === '--js-max-gflop') a.jsMaxGflop = Number(val());
    else if (k === '--max-time') a.maxTime = Number(val());
    else if (k === '--rounds') a.rounds = Number(val());
    else if (k === '--no-save') a.save = false;
    else if (k === '--cases') a.cases = val().split(',');
    else if (k === '--addon') a.addon = path.resolve(val());
    else if (k === '--list') a.list = true;
    else if (k === '--help' || k === '-h') usage();
    else usage(`unknown argument ${k}`);
  }
  if (!Number.isInteger(a.threads) || a.threads < 1) usage('--threads must be a positive integer');
  if (a.stat !== 'median' && a.stat !== 'min') usage('--stat must be median or min');
  if (!Number.isInteger(a.rounds) || a.rounds < 1 || a.rounds > 20) usage('--rounds must be an integer from 1 to 20');
  if (a.maxTime !== null && !(a.maxTime > 0)) usage('--max-time must be a positive number of seconds');
  return a;
}

function loadSuites() {
  const dir = path.join(BENCH, 'suites');
  const all = {};
  for (const f of fs.readdirSync(dir)) {
    if (!f.endsWith('.js') || f.startsWith('_')) continue;
    const s = require(path.join(dir, f));
    all[s.name || f.slice(0, -3)] = s;
  }
  const names = Object.keys(all).sort((x, y) => {
    const ix = ORDER.indexOf(x), iy = ORDER.indexOf(y);
    return (ix < 0 ? 99 : ix) - (iy < 0 ? 99 : iy) || x.localeCompare(y);
  });
  return names.map((n) => all[n]);
}

function loadBackends(log) {
  const r = { native: null, js: null, nativeError: null, jsError: null, nativeInfo: null, jsInfo: null };
  let select;
  try {
    select = require(path.join(ROOT, 'dist', 'backend', 'select.js'));
  } catch (e) {
    r.nativeError = r.jsError = `dist/ not built (npx tsc -p .): ${e.message.split('\n')[0]}`;
    return r;
  }
  for (const name of ['native', 'js']) {
    try {
      const b = select.getBackendInstance(name);
      r[`${name}Info`] = b.info();
      r[name] = b;
    } catch (e) {
      r[`${name}Error`] = String(e.message || e).split('\n')[0];
      log(`${name} backend unavailable: ${r[`${name}Error`]}`);
    }
  }
  return r;
}

function measurePeak(threads, log) {
  const b = ensureBuilt({ quiet: true });
  log('measuring the FMA-loop peak...');
  let raw = null;
  if (b.fmaPeak) {
    const r = spawnSync(b.fmaPeak, [String(threads), '1'], { encoding: 'utf8', timeout: 60000 });
    try { raw = { ...JSON.parse(r.stdout.trim()), sources: ['bench/peers/fma_peak'] }; } catch { /* ignore */ }
  }
  // The GEMM engineer's harness (bench/native/build.sh) has its own FMA loop: when it is
  // built, take the better of the two figures for each ISA and thread count.
  const gb = path.join(BENCH, 'native', 'build', 'gemm_bench');
  if (fs.existsSync(gb)) {
    const r = spawnSync(gb, ['--threads', threads > 1 ? `1,${threads}` : '1', '--shape', '16x16x16', '--seconds', '0.01'],
      { encoding: 'utf8', timeout: 120000 });
    const re = /FMA peak \((\w+), (\d+) threads?\): ([\d.]+)/g;
    let m, any = false;
    raw = raw || { sources: [] };
    while ((m = re.exec(r.stdout || '')) !== null) {
      any = true;
      raw[m[1]] = raw[m[1]] || {};
      raw[m[1]][m[2]] = Math.max(raw[m[1]][m[2]] || 0, Number(m[3]));
    }
    if (any) raw.sources.push('bench/native/gemm_bench');
  }
  if (!raw) return null;
  // Peak on t threads: the measured t-thread figure, or t x the 1-thread figure when that is
  // higher (on a machine shared with other work the t-thread loop loses cores; the peak
  // is a property of the cores: t x FLOP/cycle x clock).
  const atIsa = (isa, t) => {
    const m = raw[isa];
    if (!m) return null;
    const measured = m[String(t)] ?? 0;
    const scaled = m['1'] !== undefined ? m['1'] * t : 0;
    return Math.max(measured, scaled) || null;
  };
  const at = (t) => {
    let best = { gflops: 0, isa: null };
    for (const isa of ['ymm', 'zmm']) {
      const g = atIsa(isa, t);
      if (g && g > best.gflops) best = { gflops: g, isa };
    }
    return best;
  };
  return { raw, at, atIsa, toJSON: () => raw };
}

function machineInfo() {
  const cpus = os.cpus();
  let flags = [];
  try {
    const ci = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const m = /^flags\s*:\s*(.*)$/m.exec(ci);
    if (m) flags = m[1].split(' ').filter((f) => /^(avx2|fma|avx512f|avx512bw|avx512vl|avx512_bf16|amx_tile)$/.test(f));
  } catch { /* not linux */ }
  return {
    cpu: cpus[0] ? cpus[0].model : 'unknown', logicalCpus: cpus.length, simdFlags: flags,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version, platform: `${os.platform()} ${os.release()}`,
  };
}

function timestamp(d = new Date()) {
  return d.toISOString().replace(/[:]/g, '').replace(/\..*/, '').replace('T', '-');
}

function printResult(suite, result, ctx) {
  const parts = result.parts || { '': result };
  for (const [label, part] of Object.entries(parts)) {
    const peak = suite.name === 'gemm' && ctx.peak ? ctx.peak.at(ctx.threads).gflops : null;
    const td = tableData(part, { stat: ctx.opts.stat, peak });
    console.log(`\n## ${suite.title}${label ? ` — ${label}` : ''} (${ctx.threads} threads; ${part.metric === 'gflops' ? 'GFLOP/s, higher is better' : 'ms, lower is better'}; ${ctx.opts.stat})`);
    console.log(textTable(td));
    const gm = (k) => geomean(part.rows.map((r) => r.ratios[k]));
    console.log(`geomean: native/JS ${ratio(gm('nativeVsJs'))}, native/best peer ${ratio(gm('nativeVsBestPeer'))}` +
      (part.rows.some((r) => r.bestPlainPeer) ? `, native/best NCHW peer ${ratio(gm('nativeVsBestPlainPeer'))}` : '') +
      (part.rows.some((r) => r.ratios.scaling) ? `, 2t/1t ${ratio(gm('scaling'))}` : ''));
    const notes = [];
    if (ctx.opts.rounds > 1) notes.push(`each implementation's best of ${ctx.opts.rounds} rounds (native and peers alternated; JS in the first round only)`);
    for (const [p, info] of Object.entries(part.peers)) {
      if (info.unavailable) notes.push(`${p}: not run (${info.unavailable})`);
      else notes.push(`${p} ${info.version || ''}${info.threads !== undefined ? `, ${info.threads} thread(s)` : ''}`);
    }
    const jsSkips = {};
    for (const r of part.rows) if (r.js && r.js.skipped) (jsSkips[r.js.skipped.replace(/^slow: .*/, 'slow')] ||= []).push(r.id);
    for (const [why, ids] of Object.entries(jsSkips)) {
      notes.push(why === 'slow' ? `JS skipped as slow (over --js-max-gflop ${ctx.opts.jsMaxGflop}; --js-all runs them): ${ids.join(', ')}` : `JS not run (${why})`);
    }
    const errs = part.rows.filter((r) => r.native && r.native.error).map((r) => `${r.id}: ${r.native.error}`);
    if (errs.length) notes.push(`native errors: ${errs.join('; ')}`);
    const jsErrs = part.rows.filter((r) => r.js && r.js.error).map((r) => `${r.id}: ${r.js.error}`);
    if (jsErrs.length) notes.push(`JS errors: ${jsErrs.join('; ')}`);
    const diffs = part.rows.filter((r) => r.check && r.check.maxRelDiff !== null && r.check.maxRelDiff > 1e-3);
    if (diffs.length) notes.push(`native and JS DISAGREE on: ${diffs.map((r) => `${r.id} (${r.check.maxRelDiff.toExponential(1)})`).join(', ')}`);
    const peerSkips = [];
    for (const r of part.rows) for (const [p, v] of Object.entries(r.peers)) if (v.skipped) peerSkips.push(`${p}/${r.id}: ${v.skipped}`);
    if (peerSkips.length) notes.push(`peer cases not run: ${peerSkips.join('; ')}`);
    if (part.rows.some((r) => [r.native, r.js, ...Object.values(r.peers)].some((x) => x && x.single))) notes.push('* = a single call (slower than --slow-ms), not a median');
    for (const n of notes) console.log(`  - ${n}`);
  }
  if (result.floors && Object.keys(result.floors).length) {
    console.log('\nIssue 2 floors:');
    const f = result.floors;
    if (f.native1024) {
      const n = f.native1024;
      console.log(`  - ${n.rule}: ${fmt(n.gflops)} GFLOP/s = ${n.fraction ? (100 * n.fraction).toFixed(0) : '-'}% of ${fmt(n.peak)} (${n.peakIsa} FMA loop)` +
        (n.ymmPeak && n.peakIsa !== 'ymm' ? `, ${n.fractionOfYmmPeak ? (100 * n.fractionOfYmmPeak).toFixed(0) : '-'}% of the 256-bit FMA peak ${fmt(n.ymmPeak)}` : '') +
        ` -> ${n.met ? 'MET' : 'NOT MET'}`);
    }
    if (f.js1024) console.log(`  - ${f.js1024.rule}: ${fmt(f.js1024.gflops)} GFLOP/s -> ${f.js1024.met ? 'MET' : 'NOT MET'}`);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const log = (s) => process.stderr.write(`bench: ${s}\n`);
  const suites = loadSuites();
  if (args.list) {
    for (const s of suites) console.log(`${s.name.padEnd(14)} ${s.title}${s.pending ? `  [pending: ${s.pending}]` : ''}`);
    return;
  }
  const wanted = args.suite === 'all' ? suites.filter((s) => !s.pending).map((s) => s.name) : args.suite.split(',');
  for (const w of wanted) if (!suites.some((s) => s.name === w)) usage(`unknown suite '${w}' (have: ${suites.map((s) => s.name).join(', ')})`);

  const quick = args.quick;
  const opts = {
    maxTime: args.maxTime ?? (quick ? 0.25 : 1.5),
    rounds: args.rounds,
    minSamples: quick ? 3 : 5,
    slowMs: quick ? 1500 : 4000,
    jsAll: args.jsAll,
    jsMaxGflop: args.jsMaxGflop ?? (quick ? 1 : 2),
    // Issue 2's layers always run on JS, except in --quick mode.
    issue2Js: !quick,
    tfjsCpuMaxGflop: quick ? 0.1 : 2,
    tfjsWasmMaxGflop: quick ? 1 : 8,
    scaling: args.scaling,
    stat: args.stat,
    noPeers: args.noPeers,
    peers: args.peers,
    peerTimeoutS: 1800,
    cases: args.cases,
  };
  if (args.addon) process.env.RECEPTIVE_ADDON_PATH = args.addon;
  const be = loadBackends(log);
  const addonFile = process.env.RECEPTIVE_ADDON_PATH || path.join(ROOT, 'build', 'Release', 'receptive.node');
  let addon = { path: path.relative(ROOT, addonFile) || addonFile };
  try { addon.mtime = fs.statSync(addonFile).mtime.toISOString(); } catch { addon.missing = true; }
  const ctx = {
    threads: args.threads, quick, opts, log,
    native: be.native, js: be.js, nativeError: be.nativeError, jsError: be.jsError,
    peak: measurePeak(Math.max(args.threads, 1), log),
  };
  const load0 = os.loadavg();
  if (load0[0] > 0.5) log(`load average ${load0.map((x) => x.toFixed(2)).join(' ')}: other work is running, figures will be noisy`);
  const machine = machineInfo();
  console.log(`receptive bench ${new Date().toISOString()} — ${machine.cpu}, ${machine.logicalCpus} CPUs, node ${machine.node}, ${args.threads} thread(s)${quick ? ', --quick' : ''}`);
  console.log(`backends: native ${be.nativeInfo ? `${be.nativeInfo.isa}${be.nativeInfo.openmp ? ' +OpenMP' : ''} (${addon.path})` : `unavailable (${be.nativeError})`}; js ${be.jsInfo ? 'ok' : `unavailable (${be.jsError})`}`);
  if (ctx.peak) {
    const p1 = ctx.peak.at(1), pt = ctx.peak.at(args.threads);
    console.log(`peak (FMA loop): ${fmt(p1.gflops)} GFLOP/s on 1 thread, ${fmt(pt.gflops)} on ${args.threads} (${pt.isa})` +
      (ctx.peak.raw.ymm && pt.isa !== 'ymm' ? `; 256-bit FMA: ${fmt(ctx.peak.atIsa('ymm', 1))} / ${fmt(ctx.peak.atIsa('ymm', args.threads))}` : ''));
  }
  for (const name of wanted) {
    const suite = suites.find((s) => s.name === name);
    if (suite.pending) { console.log(`\n## ${suite.title}: pending (${suite.pending})`); continue; }
    log(`suite ${name}`);
    const started = new Date();
    const t0 = Date.now();
    const result = await suite.run(ctx);
    const record = {
      suite: name, title: suite.title, date: started.toISOString(), seconds: (Date.now() - t0) / 1000,
      machine, loadavg: { start: load0, end: os.loadavg() }, threads: args.threads, quick, stat: opts.stat,
      options: { ...opts, peers: opts.peers || 'all' },
      backends: { native: be.nativeInfo ? { ...be.nativeInfo, addon } : { error: be.nativeError, addon }, js: be.jsInfo || { error: be.jsError } },
      peak: ctx.peak ? ctx.peak.raw : null,
      ...result,
    };
    printResult(suite, result, ctx);
    if (args.save) {
      const dir = path.join(BENCH, 'results');
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${name}-${timestamp(started)}.json`);
      fs.writeFileSync(file, JSON.stringify(record, null, 1) + '\n');
      log(`wrote ${path.relative(ROOT, file)}`);
      if (!quick && !args.cases) {
        fs.writeFileSync(path.join(BENCH, `latest-${name}.json`), JSON.stringify(record, null, 1) + '\n');
        log(`wrote bench/latest-${name}.json`);
      }
    }
  }
  if (args.save && !quick) {
    try {
      const { writeChart } = require('./chart');
      const out = writeChart();
      if (out) log(`wrote ${path.relative(ROOT, out)}`);
    } catch (e) {
      log(`chart not written: ${e.message}`);
    }
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e.stack || e}\n`);
  process.exit(1);
});
