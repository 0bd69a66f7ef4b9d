// @launchdarkly/node-server-sdk: streaming flag delivery, then identify, evaluate and track for
// a user context with a honey key, email and custom attribute; flush posts /bulk.
'use strict';
const ld = require('@launchdarkly/node-server-sdk');
const h = JSON.parse(process.argv[2]);
(async () => {
  const client = ld.init(h.launchdarkly_key, {logger: ld.basicLogger({level: 'warn'})});
  await client.waitForInitialization({timeout: 20});
  console.log('initialized');
  const context = {kind: 'user', key: h.user, email: h.email, name: 'Honey Tester', coupon: h.coupon};
  client.identify(context);
  await client.variation('new-checkout', context, false);
  client.track('honey-purchase', context, {coupon: h.coupon}, 42.5);
  await client.flush();
  console.log('flushed');
  client.close();
})().catch((e) => { console.error('error', e && e.message); process.exitCode = 1; });
