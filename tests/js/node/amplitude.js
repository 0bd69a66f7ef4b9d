// @amplitude/analytics-node: identify (email user property) and track (custom event
// property), POSTed with https.request to api2.amplitude.com/2/httpapi. Prints each result code.
'use strict';
const amplitude = require('@amplitude/analytics-node');
const h = JSON.parse(process.argv[2]);
async function main() {
  await amplitude.init(h.amplitude_key, {flushMaxRetries: 1, flushQueueSize: 10}).promise;
  const identify = new amplitude.Identify().set('email', h.email).set('plan', 'honey-plan');
  const results = [
    amplitude.identify(identify, {user_id: h.user, device_id: h.anon}).promise,
    amplitude.track('Honey Viewed', {coupon: h.coupon}, {user_id: h.user, device_id: h.anon}).promise,
  ];
  await amplitude.flush().promise;
  for (const result of await Promise.all(results)) console.log(`status ${result.code} ${result.message}`);
}
main();
