#!/usr/bin/env node
// The `rebound` command; the TypeScript build lives in dist/ (`npm run build`).
require('../dist/src/cli/main.js')
  .main(process.argv)
  .catch((err) => {
    process.stderr.write(`error: ${err && err.message ? err.message : err}\n`);
    process.exit(1);
  });
