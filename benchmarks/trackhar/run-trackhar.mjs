// TrackHAR's process() on one HAR, as a user runs it (README of trackhar@1.0.0): read the
// file, JSON.parse, process(). Prints one summary line; benchmarks/bench_trackhar.py times it.
// `node run-trackhar.mjs X.har --by-endpoint` also prints, per method, host and path, the
// entries, those an adapter matched and the values extracted (to check what a corpus covers).
import { readFile } from 'node:fs/promises';
import { process as processHar } from 'trackhar';

const har = JSON.parse(await readFile(process.argv[2], 'utf-8'));
const results = await processHar(har);
const matched = results.filter((r) => r !== undefined);
const values = matched.reduce((n, r) => n + r.length, 0);
// with_adapter: entries an adapter matched (by URL; a CORS preflight counts, with no values);
// with_values: entries of which TrackHAR extracted at least one value.
const withValues = matched.filter((r) => r.length > 0).length;
if (process.argv[3] === '--by-endpoint') {
  const rows = {};
  har.log.entries.forEach((entry, i) => {
    const url = new URL(entry.request.url);
    const row = (rows[`${entry.request.method} ${url.host}${url.pathname}`] ??= [0, 0, 0]);
    row[0] += 1;
    if (results[i] !== undefined) { row[1] += 1; row[2] += results[i].length; }
  });
  console.log('entries\tmatched\tvalues\tendpoint');
  for (const [endpoint, row] of Object.entries(rows).sort()) console.log(`${row.join('\t')}\t${endpoint}`);
}
console.log(JSON.stringify({ entries: results.length, with_adapter: matched.length, with_values: withValues, values }));
