// intercom-client (Intercom's Node SDK): create a user contact and submit an event for it.
'use strict';
const {IntercomClient} = require('intercom-client');
const h = JSON.parse(process.argv[2]);
(async () => {
  const client = new IntercomClient({token: h.intercom_token});
  await client.contacts.create({role: 'user', external_id: h.user, email: h.email, phone: h.phone,
                                name: 'Honey Tester', custom_attributes: {coupon: h.coupon}});
  console.log('contact ok');
  await client.events.create({event_name: 'honey-purchase', created_at: 1767225600, user_id: h.user,
                              metadata: {coupon: h.coupon}});
  console.log('event ok');
})().catch((e) => { console.error('error', e && (e.message || e.statusCode)); process.exitCode = 1; });
