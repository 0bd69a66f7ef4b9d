// @splitsoftware/splitio (Node, server side): download flags and segments, evaluate a flag
// and track an event with honey properties for a honey user key; destroy flushes
// impressions, events and telemetry.
'use strict';
const {SplitFactory} = require('@splitsoftware/splitio');
const h = JSON.parse(process.argv[2]);
(async () => {
  const factory = SplitFactory({core: {authorizationKey: h.split_key}, startup: {readyTimeout: 20},
                                scheduler: {impressionsRefreshRate: 1, eventsPushRate: 1}, debug: false});
  const client = factory.client();
  await client.whenReady();
  console.log('ready');
  client.getTreatment(h.user, 'new_checkout', {email: h.email});
  client.track(h.user, 'user', 'honey_purchase', 42.5, {coupon: h.coupon, email: h.email});
  await new Promise((r) => setTimeout(r, 300));
  await client.destroy();
  console.log('destroyed');
})().catch((e) => { console.error('error', e && e.message); process.exitCode = 1; });
