// posthog-node: identify (email in $set) and capture (custom property), POSTed with fetch
// as one batch to us.i.posthog.com/batch/. Every HTTP status the SDK saw is printed.
'use strict';
const {PostHog} = require('posthog-node');
const h = JSON.parse(process.argv[2]);
const posthog = new PostHog(h.posthog_key, {
  host: 'https://us.i.posthog.com', flushAt: 10, fetchRetryCount: 0, disableGeoip: false,
  fetch: async (url, options) => {
    const response = await fetch(url, options);
    console.log(`status ${response.status} ${new URL(url).pathname}`);
    return response;
  },
});
posthog.on('error', (err) => { console.error('error', err && err.message); process.exitCode = 1; });
posthog.identify({distinctId: h.user, properties: {email: h.email, plan: 'honey-plan'}});
posthog.capture({distinctId: h.user, event: 'Honey Clicked', properties: {coupon: h.coupon}});
posthog.shutdown(20000).then(() => console.log('flushed'));
