#!/usr/bin/env node
// npm install hook: use a prebuilt binary when one matches, else compile the addon with
// node-gyp. A failed compile never fails the install: the library then runs on its
// JavaScript backend, and we say so in one line.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');

function hasPrebuild() {
  try {
    require('node-gyp-build').path(root);
    return true;
  } catch {
    return false;
  }
}

if (process.env.RECEPTIVE_SKIP_NATIVE === '1') {
  console.log('receptive: RECEPTIVE_SKIP_NATIVE=1, not compiling the native addon; the JavaScript backend will be used');
  process.exit(0);
}
if (hasPrebuild()) process.exit(0);

let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = null;
}
const cmd = gyp ? process.execPath : 'node-gyp';
const args = gyp ? [gyp, 'rebuild'] : ['rebuild'];
const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], shell: !gyp });
if (r.status !== 0) {
  console.log('receptive: the native addon could not be compiled; the JavaScript backend will be used (see the node-gyp output above)');
}
process.exit(0);
