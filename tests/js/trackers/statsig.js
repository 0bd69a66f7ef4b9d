// statsig-node: initialize (config specs, id lists), evaluate a gate and log an event for a
// user with a honey id, email and custom field; shutdown flushes /v1/log_event.
'use strict';
const statsig = require('statsig-node');
const h = JSON.parse(process.argv[2]);
(async () => {
  await statsig.initialize(h.statsig_key, {environment: {tier: 'production'}});
  const user = {userID: h.user, email: h.email, country: 'DE', custom: {coupon: h.coupon}};
  statsig.checkGate(user, 'new_checkout');
  statsig.logEvent(user, 'honey_purchase', 42.5, {coupon: h.coupon});
  await statsig.shutdownAsync();
  console.log('flushed');
})().catch((e) => { console.error('error', e && e.message); process.exitCode = 1; });
