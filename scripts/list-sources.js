#!/usr/bin/env node
// Lists the native sources for one ISA group, shared by binding.gyp and CMakeLists.txt.
// A file's ISA is in its name: *_avx512.cc and *_avx2.cc get that ISA's compiler flags
// (x86-64 only); every other .cc is portable baseline code. addon.cc is listed apart.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..', 'native');
const group = process.argv[2] || 'base';
const sep = process.argv[3] === '--cmake' ? ';' : ' ';

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith('.cc')) out.push(p);
  }
  return out;
}

function groupOf(file) {
  const base = path.basename(file);
  if (base === 'addon.cc') return 'addon';
  if (base.endsWith('_avx512.cc')) return 'avx512';
  if (base.endsWith('_avx2.cc')) return 'avx2';
  return 'base';
}

const files = walk(root).filter((f) => groupOf(f) === group).sort()
  .map((f) => path.relative(path.join(__dirname, '..'), f).split(path.sep).join('/'));
process.stdout.write(files.join(sep));
