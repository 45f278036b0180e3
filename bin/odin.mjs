#!/usr/bin/env node
// Entry point of the `odin` CLI. The sources are TypeScript run through tsx, so a fresh checkout needs no
// build step: `npm install && npm start` is the whole set-up.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
