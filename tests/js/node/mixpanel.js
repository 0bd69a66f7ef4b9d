// mixpanel (npm): one single event (GET /track?data=<base64>), one profile update
// (GET /engage?data=<base64>) and a batch (POST /track, form data=<base64>), all with
// https.request. The SDK's callback gets an error unless the answer is 2xx with body "1".
'use strict';
const Mixpanel = require('mixpanel');
const h = JSON.parse(process.argv[2]);
const mp = Mixpanel.init(h.mixpanel_token, {keepAlive: false});
const done = (what) => (err) => {
  if (err) { console.error(`${what} failed: ${err.message}`); process.exit(1); }
  console.log(`ok ${what}`);
};
mp.track('Honey Checkout', {distinct_id: h.user, user_email: h.email, coupon: h.coupon}, done('track'));
mp.people.set(h.user, {$email: h.email, plan: 'honey-plan'}, done('engage'));
mp.track_batch([
  {event: 'Honey Step 1', properties: {distinct_id: h.user, coupon: h.coupon}},
  {event: 'Honey Step 2', properties: {distinct_id: h.user, step: 2}},
], done('track_batch'));
