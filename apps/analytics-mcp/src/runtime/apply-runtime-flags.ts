import { setFlagsFromString } from 'node:v8';
import { runtimeFlagsToSet } from './node-flags.js';

// Imported by main.ts before the application is loaded: see node-flags.ts for each flag.
for (const flag of runtimeFlagsToSet(process.execArgv)) setFlagsFromString(flag);
