// @snowplow/node-tracker: a structured event with user id and a self-describing event
// carrying the honey email, sent once by POST (tp2) and once by GET (/i), with fetch.
// Every HTTP status the SDK saw is printed.
'use strict';
const {newTracker, buildStructEvent, buildSelfDescribingEvent} = require('@snowplow/node-tracker');
const h = JSON.parse(process.argv[2]);
async function send(eventMethod) {
  const emitter = {
    endpoint: h.collector, eventMethod, retryFailedRequests: false,  // default bufferSize 10: sent on flush()
    connectionTimeout: 30000,  // the SDK's 5 s default fails on a loaded test machine
    onRequestSuccess: (batch, response) => console.log(`status ${response.status} ${eventMethod}`),
    onRequestFailure: (failure) => { console.error('failed', eventMethod, failure.status); process.exitCode = 1; },
  };
  const tracker = newTracker({namespace: 'honey-ns', appId: 'honey-app', encodeBase64: true}, emitter);
  tracker.setUserId(h.user);
  tracker.setLang('en-GB');
  tracker.setTimezone('Europe/London');
  tracker.track(buildStructEvent({category: 'shop', action: `honey-${eventMethod}`, label: h.coupon}));
  tracker.track(buildSelfDescribingEvent({event: {
    schema: 'iglu:net.example/honey_signup/jsonschema/1-0-0', data: {email: h.email, coupon: h.coupon}}}));
  await tracker.flush();
}
send('post').then(() => send('get')).then(() => console.log('flushed'));
