// @segment/analytics-node: identify (email trait) and track (custom property), one batch
// POSTed with fetch to api.segment.io/v1/batch. Every HTTP status the SDK saw is printed.
'use strict';
const {Analytics, FetchHTTPClient} = require('@segment/analytics-node');
const h = JSON.parse(process.argv[2]);
const fetchClient = new FetchHTTPClient();
const httpClient = {
  async makeRequest(options) {
    const response = await fetchClient.makeRequest(options);
    console.log(`status ${response.status}`);
    return response;
  },
};
const analytics = new Analytics({writeKey: h.segment_key, maxRetries: 0, httpClient});
analytics.on('error', (err) => { console.error('error', err.code, err.reason && err.reason.message); process.exitCode = 1; });
analytics.identify({userId: h.user, anonymousId: h.anon, traits: {email: h.email, plan: 'honey-plan'}});
analytics.track({userId: h.user, event: 'Honey Purchased', properties: {coupon: h.coupon}});
analytics.closeAndFlush({timeout: 20000}).then(() => console.log('flushed'));
