// TrackHAR's process() on one HAR, as a user runs it (README of trackhar@1.0.0): read the
// file, JSON.parse, process(). Prints one summary line; benchmarks/bench_trackhar.py times it.
import { readFile } from 'node:fs/promises';
import { process as processHar } from 'trackhar';

const har = JSON.parse(await readFile(process.argv[2], 'utf-8'));
const results = await processHar(har);
const matched = results.filter((r) => r !== undefined);
const values = matched.reduce((n, r) => n + r.length, 0);
// with_adapter: entries an adapter matched (by URL; a CORS preflight counts, with no values);
// with_values: entries of which TrackHAR extracted at least one value.
const withValues = matched.filter((r) => r.length > 0).length;
console.log(JSON.stringify({ entries: results.length, with_adapter: matched.length, with_values: withValues, values }));
