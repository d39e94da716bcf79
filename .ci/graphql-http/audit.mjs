// The graphql-http server audit (GraphQL over HTTP conformance) against a running keydeck:
//   KEYDECK_URL=http://127.0.0.1:PORT/graphql KEYDECK_TOKEN=kd_… node audit.mjs
// Prints every result; exits 1 on any error or warning. `.ci/graphql-http/run` starts a
// service on a temporary store, installs the package and runs this.
import { auditServer } from 'graphql-http';

const url = process.env.KEYDECK_URL;
const token = process.env.KEYDECK_TOKEN;
if (!url || !token) {
  console.error('set KEYDECK_URL and KEYDECK_TOKEN');
  process.exit(2);
}
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const tally = { ok: 0, warn: 0, error: 0 };
for (const result of results) {
  tally[result.status] += 1;
  if (result.status !== 'ok') {
    const body = result.response ? await result.response.text().catch(() => '') : '';
    console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}`);
    if (body) console.log(`    body: ${body.slice(0, 300)}`);
  }
}
console.log(`graphql-http audit: ${tally.ok} passed, ${tally.warn} warnings, ${tally.error} errors`);
process.exit(tally.warn + tally.error > 0 ? 1 : 0);
