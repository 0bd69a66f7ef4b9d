// @rudderstack/rudder-sdk-node: identify (email trait) and track (custom property), gzipped
// batches POSTed with the SDK's axios instance to <dataPlane>/v1/batch (the SDK sends its first
// message at once, then the rest on flush). Every HTTP status the SDK saw is printed.
'use strict';
const Analytics = require('@rudderstack/rudder-sdk-node');
const h = JSON.parse(process.argv[2]);
const client = new Analytics(h.rudder_key, {
  dataPlaneUrl: 'https://honeyco.dataplane.rudderstack.com', flushAt: 10, retryCount: 0, logLevel: 'error',
  errorHandler: (err) => { console.error('error', err && err.message); process.exitCode = 1; },
});
client.axiosInstance.interceptors.response.use((response) => {
  console.log(`status ${response.status}`);
  return response;
});
client.identify({userId: h.user, anonymousId: h.anon, traits: {email: h.email, plan: 'honey-plan'}});
client.track({userId: h.user, anonymousId: h.anon, event: 'Honey Shared', properties: {coupon: h.coupon}});
client.flush((err) => {
  if (err) { console.error('flush failed', err.message); process.exit(1); }
  console.log('flushed');
});
